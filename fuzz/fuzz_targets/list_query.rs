#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    flagstone_fuzz::list_query(&String::from_utf8_lossy(data));
});
