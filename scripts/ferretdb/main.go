// Command ferretdb runs FerretDB 1.24.2 (SQLite backend) as a local MongoDB-compatible
// server for Flagstone's tests. It is started and stopped by scripts/test-mongo.sh.
//
// It embeds FerretDB's `ferretdb` package instead of using FerretDB's own command:
// `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` builds, but the binary
// panics at start-up because the module lacks the generated build/version/version.txt.
//
// The embedded server has no telemetry reporter and no debug HTTP listener, so it never
// opens any socket other than the one given by --listen-addr and never contacts another host.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/build/version"
	"github.com/FerretDB/FerretDB/ferretdb"
)

// ferretdbVersion is the FerretDB module version required by go.mod. The embedded package
// reports "unknown" in buildInfo's ferretdbVersion unless it is set here.
const ferretdbVersion = "v1.24.2"

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "listen TCP address")
	sqliteURL := flag.String("sqlite-url", "file:data/", "SQLite URI of the (existing) data directory, ending with '/'")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn or error")
	telemetry := flag.String("telemetry", "disable", "telemetry; only 'disable' is accepted (embedded FerretDB has no reporter)")
	showVersion := flag.Bool("version", false, "print the FerretDB version and exit")
	flag.Parse()

	if *showVersion {
		fmt.Println("ferretdb (embedded)", ferretdbVersion)
		return
	}

	if *telemetry != "disable" {
		fatalf("--telemetry=%s: only 'disable' is supported", *telemetry)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(*logLevel))); err != nil {
		fatalf("--log-level=%s: %v", *logLevel, err)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)

	version.Get().Version = ferretdbVersion

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listenAddr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: *sqliteURL,
	})
	if err != nil {
		fatalf("%v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := f.Run(ctx); err != nil {
			logger.Error("FerretDB stopped", slog.String("error", err.Error()))
		}
	}()

	// MongoDBURI waits until the listener is bound.
	fmt.Fprintf(os.Stderr, "FerretDB %s (sqlite %s) listening on %s\n", ferretdbVersion, *sqliteURL, f.MongoDBURI())

	<-done
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ferretdb: "+format+"\n", args...)
	os.Exit(2)
}
