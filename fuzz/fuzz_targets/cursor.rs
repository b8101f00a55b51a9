#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    flagstone_fuzz::cursor(data);
});
