//! Password hashing with argon2id, off the async runtime.
//!
//! ```
//! use flagstone::{auth::password::Passwords, config::{Config, Profile}};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> flagstone::Result<()> {
//! let mut auth = Config::defaults(Profile::Test).auth;
//! auth.argon2_memory = 1 << 20; // 1 MiB keeps the example fast; apps keep the default
//! auth.argon2_iterations = 1;
//! let passwords = Passwords::from_config(&auth)?;
//!
//! assert_eq!(passwords.policy_errors("password", "short").len(), 1);
//! let phc = passwords.hash("correct horse battery staple").await?;
//! assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
//! assert!(passwords.verify("correct horse battery staple", &phc).await?.valid);
//! assert!(!passwords.verify("Tr0ub4dor&3", &phc).await?.valid);
//! # Ok(())
//! # }
//! ```
//!
//! Hashes are PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) with a random
//! 16-byte salt; a stored hash is verified with the parameters written in it, so raising
//! the cost in `[auth]` keeps old hashes working, and [`Verification::needs_rehash`] says
//! when to store a fresh one.
//!
//! Every hash and verification runs on a small pool of dedicated threads,
//! `auth.hash_concurrency` of them (default: the number of cores), started on first use;
//! more requests wait their turn in its queue without holding a thread. The async runtime
//! never computes a hash, so a burst of logins slows logins down, not every other request.
//! Fixed threads also bound memory: each keeps its argon2 working memory (19 MiB by
//! default) for the next hash, where a growing set of short-lived blocking threads would
//! each keep one.
//!
//! Passwords never appear in logs or errors.

use std::sync::Arc;

use std::cell::RefCell;

use argon2::{
    ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::{
        self,
        phc::{Output, ParamsString, Salt},
    },
};
use tokio::sync::{OnceCell, oneshot};

use crate::{Error, FieldError, Result, config::AuthConfig};

/// Length of the random salt of a new hash, in bytes.
const SALT_LEN: usize = 16;
/// The largest memory cost, in KiB, of a stored hash that is verified at all (4 GiB, the
/// ceiling `auth.argon2_memory` accepts): a bigger one could not be allocated anyway.
const MAX_STORED_M_COST: u32 = 4 * 1024 * 1024;
/// The largest number of lanes of a stored hash that is verified (the config's ceiling).
const MAX_STORED_P_COST: u32 = 255;
/// What [`Passwords::verify_dummy`] hashes once; its value does not matter.
const DUMMY_PASSWORD: &str = "flagstone dummy password for unknown accounts";

/// The outcome of [`Passwords::verify`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verification {
    /// Whether the password matches the stored hash.
    pub valid: bool,
    /// Whether the stored hash was made with other parameters (or another argon2 variant)
    /// than the configured ones, so a fresh hash of the password should replace it. Only
    /// meaningful when `valid`; always false otherwise.
    pub needs_rehash: bool,
}

impl Verification {
    const INVALID: Self = Self {
        valid: false,
        needs_rehash: false,
    };
}

/// argon2id hashing and verification on a fixed pool of dedicated threads
/// (`auth.hash_concurrency` of them, or the number of cores), never on the async runtime.
/// Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct Passwords {
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    pool: HashPool,
    min_length: u64,
    max_length: u64,
    /// A hash of [`DUMMY_PASSWORD`] with the current parameters, made on first use.
    dummy: OnceCell<String>,
    #[cfg(test)]
    probe: probe::Probe,
}

impl Passwords {
    /// Reads the argon2id cost (`auth.argon2_memory`, in bytes, rounded down to whole KiB;
    /// `auth.argon2_iterations`; `auth.argon2_parallelism`), the pool bound
    /// (`auth.hash_concurrency`, 0 for the number of cores) and the length policy.
    ///
    /// Fails with an internal error naming the settings when argon2 refuses the parameters.
    pub fn from_config(config: &AuthConfig) -> Result<Self> {
        let memory_kib = u32::try_from(config.argon2_memory / 1024).unwrap_or(u32::MAX);
        let params = Params::new(
            memory_kib,
            config.argon2_iterations,
            config.argon2_parallelism,
            None,
        )
        .map_err(|error| {
            Error::internal(format!(
                "invalid argon2 parameters (auth.argon2_memory = {memory_kib} KiB, \
                 auth.argon2_iterations = {}, auth.argon2_parallelism = {}): {error}",
                config.argon2_iterations, config.argon2_parallelism
            ))
        })?;
        let concurrency = match usize::try_from(config.hash_concurrency) {
            Ok(0) => std::thread::available_parallelism().map_or(1, usize::from),
            Ok(n) => n,
            Err(_) => MAX_HASH_THREADS,
        }
        .min(MAX_HASH_THREADS);
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                pool: HashPool::new(concurrency),
                min_length: config.password_min_length,
                max_length: config.password_max_length,
                dummy: OnceCell::new(),
                #[cfg(test)]
                probe: probe::Probe::default(),
            }),
        })
    }

    /// What is wrong with `password` as a new password, reported on `field`: its length in
    /// characters (not bytes) must be within `auth.password_min_length` and
    /// `auth.password_max_length` (code `length`). Empty when it is acceptable.
    pub fn policy_errors(&self, field: &str, password: &str) -> Vec<FieldError> {
        let (min, max) = (self.inner.min_length, self.inner.max_length);
        let length = char_count(password, max);
        if length < min {
            vec![FieldError::new(
                field,
                "length",
                format!("must be at least {min} characters"),
            )]
        } else if length > max {
            vec![FieldError::new(
                field,
                "length",
                format!("must be at most {max} characters"),
            )]
        } else {
            Vec::new()
        }
    }

    /// Hashes `password` into a PHC string with the configured parameters and a random
    /// 16-byte salt, on a hashing thread.
    ///
    /// A password longer than `auth.password_max_length` characters is refused with a
    /// validation error on `password` before any hashing; the rest of the policy is the
    /// caller's to check with [`Passwords::policy_errors`].
    pub async fn hash(&self, password: &str) -> Result<String> {
        if self.too_long(password) {
            let max = self.inner.max_length;
            return Err(Error::validation(vec![FieldError::new(
                "password",
                "length",
                format!("must be at most {max} characters"),
            )]));
        }
        self.hash_unchecked(password).await
    }

    async fn hash_unchecked(&self, password: &str) -> Result<String> {
        let mut salt = [0u8; SALT_LEN];
        getrandom::fill(&mut salt).map_err(Error::internal)?;
        let password = password.as_bytes().to_vec();
        let params = self.inner.params.clone();
        let hash = self
            .run(move || {
                let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
                let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
                with_memory(&params, |memory| {
                    argon2.hash_password_into_with_memory(&password, &salt, &mut out, memory)
                })?;
                Ok::<_, password_hash::Error>(PasswordHash {
                    algorithm: ARGON2ID_IDENT,
                    version: Some(Version::V0x13.into()),
                    params: ParamsString::try_from(&params)?,
                    salt: Some(Salt::new(&salt)?),
                    hash: Some(Output::new(&out)?),
                })
            })
            .await?
            .map_err(|error| Error::internal(format!("cannot hash a password: {error}")))?;
        Ok(hash.to_string())
    }

    /// Checks `password` against the stored PHC string `phc`, on a hashing thread, with
    /// the parameters written in `phc`.
    ///
    /// Never fails because of the inputs:
    /// - a password longer than `auth.password_max_length` characters is refused as invalid
    ///   at once, without hashing, which bounds the cost of hostile input (such a password
    ///   cannot have been set through [`Passwords::hash`]). The early answer is quicker
    ///   than a real check, but it reveals nothing about the account;
    /// - a `phc` that is not an argon2 PHC string, or whose cost is beyond what config
    ///   accepts (4 GiB, 255 lanes), is invalid, with a warning in the log (which shows
    ///   neither the password nor the hash).
    ///
    /// Errors only when the pool itself fails.
    pub async fn verify(&self, password: &str, phc: &str) -> Result<Verification> {
        if self.too_long(password) {
            return Ok(Verification::INVALID);
        }
        let hash = match PasswordHash::new(phc) {
            Ok(hash) => hash,
            Err(error) => {
                tracing::warn!(%error, "stored password hash is not a PHC string; treated as a mismatch");
                return Ok(Verification::INVALID);
            }
        };
        let params = match stored_params(&hash) {
            Ok(params) => params,
            Err(error) => {
                tracing::warn!(%error, "stored password hash cannot be verified; treated as a mismatch");
                return Ok(Verification::INVALID);
            }
        };
        let needs_rehash = !self.is_current(&hash);
        let password = password.as_bytes().to_vec();
        let outcome = self.run(move || check(&password, &hash, params)).await?;
        match outcome {
            Ok(()) => Ok(Verification {
                valid: true,
                needs_rehash,
            }),
            Err(password_hash::Error::PasswordInvalid) => Ok(Verification::INVALID),
            Err(error) => {
                tracing::warn!(%error, "stored password hash cannot be verified; treated as a mismatch");
                Ok(Verification::INVALID)
            }
        }
    }

    /// Runs a full verification of `password` against a fixed dummy hash made with the
    /// current parameters, and ignores the outcome: call it when the account does not
    /// exist, so that a login for an unknown account costs as much as a wrong password and
    /// response times do not tell which accounts exist.
    ///
    /// The dummy hash is computed once, on first use.
    pub async fn verify_dummy(&self, password: &str) {
        let dummy = self
            .inner
            .dummy
            .get_or_try_init(|| self.hash_unchecked(DUMMY_PASSWORD))
            .await;
        match dummy {
            Ok(phc) => {
                if let Err(error) = self.verify(password, phc).await {
                    tracing::warn!(%error, "dummy password verification failed");
                }
            }
            Err(error) => tracing::warn!(%error, "cannot make the dummy password hash"),
        }
    }

    /// Whether the stored PHC string `phc` was made with another algorithm, version or cost
    /// (memory, iterations, lanes) than the configured ones, or is not a complete PHC
    /// string at all.
    pub fn needs_rehash(&self, phc: &str) -> bool {
        PasswordHash::new(phc).map_or(true, |hash| !self.is_current(&hash))
    }

    fn is_current(&self, hash: &PasswordHash) -> bool {
        let current = &self.inner.params;
        hash.algorithm == ARGON2ID_IDENT
            && hash.salt.is_some()
            && hash.hash.is_some()
            && hash.version == Some(Version::V0x13.into())
            && Params::try_from(hash).is_ok_and(|params| {
                (params.m_cost(), params.t_cost(), params.p_cost())
                    == (current.m_cost(), current.t_cost(), current.p_cost())
            })
    }

    /// Whether `password` has more characters than any acceptable password.
    fn too_long(&self, password: &str) -> bool {
        char_count(password, self.inner.max_length) > self.inner.max_length
    }

    /// Runs `work` on a hashing thread, in queue order; it runs to the end even if the
    /// caller stops waiting for it.
    async fn run<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (done, outcome) = oneshot::channel();
        #[cfg(test)]
        let inner = Arc::clone(&self.inner);
        let configured = self.inner.params.block_count();
        self.inner.pool.submit(Box::new(move || {
            #[cfg(test)]
            let _busy = inner.probe.enter();
            // The caller may have gone away (a dropped request); nothing to tell then.
            let _ = done.send(work());
            // A stored hash with a bigger cost than configured does not keep its memory.
            MEMORY.with_borrow_mut(|memory| {
                if memory.len() > configured {
                    *memory = Vec::new();
                }
            });
        }))?;
        outcome
            .await
            .map_err(|_| Error::internal(std::io::Error::other("a password hash was abandoned")))
    }
}

thread_local! {
    /// A hashing thread's argon2 working memory, kept from one hash to the next: one
    /// allocation per thread instead of one per hash, which the allocator would otherwise
    /// keep around in several arenas.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `hash` with this thread's working memory, grown to what `params` need.
fn with_memory<T>(params: &Params, hash: impl FnOnce(&mut [Block]) -> T) -> T {
    MEMORY.with_borrow_mut(|memory| {
        let needed = params.block_count();
        if memory.len() < needed {
            memory.resize(needed, Block::default());
        }
        hash(&mut memory[..needed])
    })
}

/// Whether `password` gives the output stored in `hash` (algorithm, version, `params` and
/// salt from the hash), compared in constant time.
fn check(password: &[u8], hash: &PasswordHash, params: Params) -> password_hash::Result<()> {
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return Err(password_hash::Error::PasswordInvalid);
    };
    let algorithm = Algorithm::try_from(hash.algorithm.as_str())?;
    let version = hash
        .version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    with_memory(&params, |memory| {
        argon2.hash_password_into_with_memory(password, salt.as_ref(), &mut out, memory)
    })?;
    // `Output`'s equality is constant-time.
    match Output::new(&out)? == *expected {
        true => Ok(()),
        false => Err(password_hash::Error::PasswordInvalid),
    }
}

/// The most hashing threads `auth.hash_concurrency` can ask for.
const MAX_HASH_THREADS: usize = 256;

/// A job for a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads taking jobs from one queue, started on the first job. The
/// threads end when the pool is dropped (the queue closes).
struct HashPool {
    size: usize,
    queue: std::sync::Mutex<Option<std::sync::mpsc::Sender<Job>>>,
}

impl HashPool {
    fn new(size: usize) -> Self {
        Self {
            size: size.max(1),
            queue: std::sync::Mutex::new(None),
        }
    }

    /// Queues `job`, starting the threads if this is the first one.
    fn submit(&self, job: Job) -> Result<()> {
        let mut queue = self
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let sender = match &mut *queue {
            Some(sender) => sender,
            empty => empty.insert(self.start()?),
        };
        sender
            .send(job)
            .map_err(|_| Error::internal(std::io::Error::other("the hashing threads are gone")))
    }

    fn start(&self) -> Result<std::sync::mpsc::Sender<Job>> {
        let (sender, jobs) = std::sync::mpsc::channel::<Job>();
        let jobs = Arc::new(std::sync::Mutex::new(jobs));
        for n in 0..self.size {
            let jobs = Arc::clone(&jobs);
            std::thread::Builder::new()
                .name(format!("flagstone-hash-{n}"))
                .spawn(move || {
                    loop {
                        let next = jobs
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .recv();
                        let Ok(job) = next else { return };
                        // A panicking job drops its answer channel (the caller gets an
                        // error); the thread stays for the next one.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                })
                .map_err(Error::internal)?;
        }
        Ok(sender)
    }
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let params = &self.inner.params;
        f.debug_struct("Passwords")
            .field("m_cost", &params.m_cost())
            .field("t_cost", &params.t_cost())
            .field("p_cost", &params.p_cost())
            .field("min_length", &self.inner.min_length)
            .field("max_length", &self.inner.max_length)
            .finish_non_exhaustive()
    }
}

/// The characters of `s`, counting no further than `max + 1`.
fn char_count(s: &str, max: u64) -> u64 {
    let limit = usize::try_from(max.saturating_add(1)).unwrap_or(usize::MAX);
    s.chars().take(limit).count() as u64
}

/// The parameters of a stored hash, if it is an argon2 hash this module will verify.
fn stored_params(hash: &PasswordHash) -> password_hash::Result<Params> {
    Algorithm::try_from(hash.algorithm.as_str())?;
    let params = Params::try_from(hash)?;
    if params.m_cost() > MAX_STORED_M_COST || params.p_cost() > MAX_STORED_P_COST {
        return Err(password_hash::Error::ParamsInvalid);
    }
    Ok(params)
}

/// Counts the hashes running at once, for the tests of the pool bound.
#[cfg(test)]
mod probe {
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Default)]
    pub(super) struct Probe {
        pub(super) active: AtomicUsize,
        pub(super) peak: AtomicUsize,
        pub(super) total: AtomicUsize,
    }

    pub(super) struct Busy<'a>(&'a Probe);

    impl Probe {
        pub(super) fn enter(&self) -> Busy<'_> {
            let now = self.active.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            self.total.fetch_add(1, Ordering::SeqCst);
            Busy(self)
        }
    }

    impl Drop for Busy<'_> {
        fn drop(&mut self) {
            self.0.active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::{
        sync::atomic::{AtomicBool, Ordering},
        time::Duration,
    };

    use futures_util::future::join_all;

    use super::*;
    use crate::config::{Config, Profile};
    use argon2::{PasswordHasher as _, PasswordVerifier as _};

    const PASSWORD: &str = "correct horse battery staple";

    /// Test settings: cheap argon2 (1 MiB, one pass) unless a test says otherwise.
    fn config() -> AuthConfig {
        let mut auth = Config::defaults(Profile::Test).auth;
        auth.argon2_memory = 1 << 20;
        auth.argon2_iterations = 1;
        auth
    }

    fn passwords(config: &AuthConfig) -> Passwords {
        Passwords::from_config(config).unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let passwords = passwords(&config());
        let phc = passwords.hash(PASSWORD).await.unwrap();
        let ok = passwords.verify(PASSWORD, &phc).await.unwrap();
        assert_eq!(
            ok,
            Verification {
                valid: true,
                needs_rehash: false
            }
        );
        let wrong = passwords.verify("correct horse battery stapl", &phc).await;
        assert_eq!(wrong.unwrap(), Verification::INVALID);
        assert!(!passwords.verify("", &phc).await.unwrap().valid);
    }

    #[tokio::test]
    async fn hashes_are_phc_strings_with_the_configured_params_and_a_fresh_salt() {
        let mut config = config();
        config.argon2_memory = 2 << 20;
        config.argon2_iterations = 3;
        config.argon2_parallelism = 2;
        let passwords = passwords(&config);
        let first = passwords.hash(PASSWORD).await.unwrap();
        let second = passwords.hash(PASSWORD).await.unwrap();
        assert_ne!(first, second, "each hash has its own salt");
        for phc in [&first, &second] {
            let parts: Vec<&str> = phc.split('$').collect();
            assert_eq!(
                parts[..4],
                ["", "argon2id", "v=19", "m=2048,t=3,p=2"],
                "{phc}"
            );
            assert_eq!(parts.len(), 6, "{phc}");
            assert_eq!(parts[4].len(), 22, "16-byte salt, unpadded base64: {phc}");
            assert_eq!(parts[5].len(), 43, "32-byte hash, unpadded base64: {phc}");
            assert!(!phc.contains(PASSWORD));
        }
    }

    #[tokio::test]
    async fn the_default_params_hash_and_verify() {
        let passwords = passwords(&Config::defaults(Profile::Test).auth);
        let phc = passwords.hash(PASSWORD).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(!passwords.needs_rehash(&phc));
        assert!(passwords.verify(PASSWORD, &phc).await.unwrap().valid);
    }

    #[tokio::test]
    async fn a_hash_with_other_params_verifies_and_asks_for_a_rehash() {
        let low = passwords(&config());
        let phc = low.hash(PASSWORD).await.unwrap();
        assert!(!low.needs_rehash(&phc));

        let mut higher = config();
        higher.argon2_iterations = 2;
        let higher = passwords(&higher);
        assert!(higher.needs_rehash(&phc));
        let verification = higher.verify(PASSWORD, &phc).await.unwrap();
        assert_eq!(
            verification,
            Verification {
                valid: true,
                needs_rehash: true
            }
        );
        // A wrong password never asks for a rehash.
        assert_eq!(
            higher.verify("nope nope nope", &phc).await.unwrap(),
            Verification::INVALID
        );

        let mut more_memory = config();
        more_memory.argon2_memory = 2 << 20;
        assert!(passwords(&more_memory).needs_rehash(&phc));
        let mut more_lanes = config();
        more_lanes.argon2_parallelism = 2;
        assert!(passwords(&more_lanes).needs_rehash(&phc));
    }

    #[tokio::test]
    async fn other_argon2_variants_verify_and_ask_for_a_rehash() {
        let passwords = passwords(&config());
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            passwords.inner.params.clone(),
        );
        let phc = argon2i
            .hash_password_with_salt(PASSWORD.as_bytes(), b"0123456789abcdef")
            .unwrap()
            .to_string();
        assert!(phc.starts_with("$argon2i$"), "{phc}");
        assert!(passwords.needs_rehash(&phc));
        let verification = passwords.verify(PASSWORD, &phc).await.unwrap();
        assert!(verification.valid && verification.needs_rehash);
    }

    #[tokio::test]
    async fn malformed_hashes_are_mismatches_not_errors() {
        let passwords = passwords(&config());
        let good = passwords.hash(PASSWORD).await.unwrap();
        let truncated = &good[..good.len() - 10];
        let no_hash = good.rsplit_once('$').unwrap().0.to_owned();
        for phc in [
            "",
            "not a hash",
            "$argon2id$",
            "$argon2id$v=19$m=1024,t=1,p=1$",
            "$bcrypt$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "$argon2id$v=19$m=0,t=0,p=0$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
            truncated,
            &no_hash,
        ] {
            let verification = passwords.verify(PASSWORD, phc).await.unwrap();
            assert_eq!(verification, Verification::INVALID, "{phc:?}");
            assert!(passwords.needs_rehash(phc), "{phc:?}");
        }
    }

    #[tokio::test]
    async fn over_long_passwords_are_refused_without_hashing() {
        let mut config = config();
        config.password_max_length = 10;
        let passwords = passwords(&config);
        let phc = passwords.hash("0123456789").await.unwrap();
        let hashed = passwords.inner.probe.total.load(Ordering::SeqCst);

        let long = "0123456789a";
        let error = passwords.hash(long).await.unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Validation);
        assert_eq!(error.field_errors()[0].field, "password");
        assert!(!format!("{error}").contains(long));
        assert_eq!(
            passwords.verify(long, &phc).await.unwrap(),
            Verification::INVALID
        );
        assert_eq!(passwords.inner.probe.total.load(Ordering::SeqCst), hashed);
        assert!(passwords.verify("0123456789", &phc).await.unwrap().valid);
    }

    #[test]
    fn policy_counts_characters_not_bytes() {
        let passwords = passwords(&config());
        assert_eq!("ééééééé".len(), 14);
        let short = passwords.policy_errors("password", "ééééééé");
        assert_eq!(short.len(), 1);
        assert_eq!(short[0].field, "password");
        assert_eq!(short[0].code, "length");
        assert_eq!(short[0].message, "must be at least 8 characters");
        assert!(passwords.policy_errors("password", "éééééééé").is_empty());
        assert!(
            passwords
                .policy_errors("password", &"é".repeat(128))
                .is_empty()
        );
        let long = passwords.policy_errors("new_password", &"é".repeat(129));
        assert_eq!(long.len(), 1);
        assert_eq!(long[0].field, "new_password");
        assert_eq!(long[0].message, "must be at most 128 characters");
        assert_eq!(passwords.policy_errors("password", "").len(), 1);
    }

    #[test]
    fn invalid_params_are_refused_naming_the_settings() {
        let mut config = config();
        config.argon2_memory = 4 * 1024;
        config.argon2_parallelism = 1;
        let error = Passwords::from_config(&config).unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Internal);
        let message = error.to_string();
        assert!(message.contains("auth.argon2_memory = 4 KiB"), "{message}");

        let mut config = self::config();
        config.argon2_iterations = 0;
        let message = Passwords::from_config(&config).unwrap_err().to_string();
        assert!(message.contains("auth.argon2_iterations = 0"), "{message}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_hashes_run_at_once_than_the_bound() {
        for bound in [1, 2] {
            let mut config = config();
            config.hash_concurrency = bound;
            let passwords = passwords(&config);
            let phc = passwords.hash(PASSWORD).await.unwrap();
            let work = (0..8).map(|i| {
                let passwords = passwords.clone();
                let phc = phc.clone();
                tokio::spawn(async move {
                    if i % 2 == 0 {
                        passwords.hash(PASSWORD).await.map(drop)
                    } else {
                        passwords.verify(PASSWORD, &phc).await.map(drop)
                    }
                })
            });
            for outcome in join_all(work).await {
                outcome.unwrap().unwrap();
            }
            let probe = &passwords.inner.probe;
            assert_eq!(probe.total.load(Ordering::SeqCst), 9);
            let peak = probe.peak.load(Ordering::SeqCst);
            assert!(
                (1..=bound as usize).contains(&peak),
                "{peak} at once, bound {bound}"
            );
        }
    }

    #[tokio::test]
    async fn hashes_are_standard_phc_strings_both_ways() {
        let passwords = passwords(&config());
        // Ours verify with the argon2 crate's own verifier...
        let ours = passwords.hash(PASSWORD).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        let argon2 = Argon2::default();
        argon2
            .verify_password(PASSWORD.as_bytes(), &parsed)
            .unwrap();
        assert!(
            argon2
                .verify_password(b"another password", &parsed)
                .is_err()
        );
        // ...and its hashes verify with ours, on the reused working memory.
        let theirs = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            passwords.inner.params.clone(),
        )
        .hash_password_with_salt(PASSWORD.as_bytes(), b"fedcba9876543210")
        .unwrap()
        .to_string();
        for _ in 0..3 {
            assert!(passwords.verify(PASSWORD, &theirs).await.unwrap().valid);
            assert!(
                !passwords
                    .verify("another password", &theirs)
                    .await
                    .unwrap()
                    .valid
            );
        }
    }

    #[test]
    fn zero_concurrency_means_one_per_core() {
        let passwords = passwords(&config());
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert_eq!(passwords.inner.pool.size, cores);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_runtime_keeps_ticking_while_hashes_run() {
        let mut config = config();
        config.argon2_memory = 4 << 20;
        config.hash_concurrency = 1;
        let passwords = passwords(&config);
        let done = Arc::new(AtomicBool::new(false));
        let ticker = tokio::spawn({
            let (done, passwords) = (Arc::clone(&done), passwords.clone());
            async move {
                // Ticks that found a hash in progress: were hashes computed on this (only)
                // runtime thread, the ticker could never run while one is.
                let mut ticks_during_hashes = 0;
                while !done.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    if passwords.inner.probe.active.load(Ordering::SeqCst) > 0 {
                        ticks_during_hashes += 1;
                    }
                }
                ticks_during_hashes
            }
        });
        let hashes = join_all((0..8).map(|_| passwords.hash(PASSWORD))).await;
        done.store(true, Ordering::SeqCst);
        let ticks = ticker.await.unwrap();
        for hash in hashes {
            hash.unwrap();
        }
        assert!(
            ticks >= 3,
            "the timer ticked only {ticks} times during hashes"
        );
    }

    #[tokio::test]
    async fn the_dummy_verification_hashes_with_the_current_params_once() {
        let passwords = passwords(&config());
        passwords.verify_dummy(PASSWORD).await;
        let dummy = passwords.inner.dummy.get().unwrap().clone();
        assert!(
            dummy.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
            "{dummy}"
        );
        assert!(!passwords.needs_rehash(&dummy));
        let runs = passwords.inner.probe.total.load(Ordering::SeqCst);
        assert_eq!(runs, 2, "one hash for the dummy, one verification");
        passwords.verify_dummy("another guess").await;
        assert_eq!(passwords.inner.dummy.get().unwrap(), &dummy);
        assert_eq!(passwords.inner.probe.total.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn debug_shows_params_only() {
        let shown = format!("{:?}", passwords(&config()));
        assert!(shown.contains("m_cost: 1024"), "{shown}");
    }
}
