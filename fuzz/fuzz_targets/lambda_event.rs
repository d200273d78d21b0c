//! AWS Lambda invocation events (`runtime::lambda`): any JSON payload is
//! recognised and becomes a request, a scheduled run or an error result,
//! never a panic (which would end the function's process).
#![no_main]

use backfeed::fuzzing::lambda_event;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = lambda_event(data);
});
