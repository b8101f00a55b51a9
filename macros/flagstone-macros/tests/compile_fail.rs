//! The derives' error messages, one diagnostic per case (`TRYBUILD=overwrite` rewrites
//! the `.stderr` files).

#[test]
fn compile_fail() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/model/*.rs");
    cases.compile_fail("tests/ui/resource/*.rs");
}
