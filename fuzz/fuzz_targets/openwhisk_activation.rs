//! OpenWhisk activations (`runtime::openwhisk`), as an ActionLoop line or a
//! proxy's `/run` body: any input becomes a request, another activation or
//! an error result, never a panic.
#![no_main]

use backfeed::fuzzing::openwhisk_activation;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = openwhisk_activation(data);
});
