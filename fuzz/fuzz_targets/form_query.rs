//! Query strings and form bodies (`http::extract::Params`) and the read
//! API's parameters built on them: never panic, and `get` and `all` agree
//! with the pairs as `application/x-www-form-urlencoded` defines them.
#![no_main]

use backfeed::fuzzing::form_and_query;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let params = form_and_query(data);
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(data).into_owned().collect();
    for (name, _) in pairs.iter().take(16) {
        let first = pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim());
        assert_eq!(params.get(name), first, "the first value of {name:?}");
        let exact = pairs.iter().filter(|(k, _)| k == name).count();
        assert!(params.all(name).count() >= exact, "every value of {name:?}");
    }
});
