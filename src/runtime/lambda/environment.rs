//! The variables Lambda sets for a custom runtime's process, checked before
//! the runtime client reads them (it panics on a missing one): a missing or
//! broken variable is a start-up error that names it. Like the S3 store's
//! `AWS_*` credentials, these belong to the platform, not to the
//! configuration.

use std::io;

const REQUIRED: [&str; 4] = [
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
];

/// Lambda sets `AWS_LAMBDA_RUNTIME_API` for the function's process.
pub fn is_lambda_environment() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some_and(|v| !v.is_empty())
}

pub fn check() -> io::Result<()> {
    check_with(&|name| std::env::var(name).ok())
}

fn check_with(var: &dyn Fn(&str) -> Option<String>) -> io::Result<()> {
    let missing: Vec<&str> = REQUIRED
        .into_iter()
        .filter(|name| var(name).is_none_or(|v| v.trim().is_empty()))
        .collect();
    if !missing.is_empty() {
        return Err(invalid(format!(
            "not a Lambda execution environment: {} not set (Lambda sets them for the function)",
            missing.join(", ")
        )));
    }
    let memory = var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").unwrap_or_default();
    if memory.trim().parse::<i32>().is_err() {
        return Err(invalid(format!(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE is `{memory}`, not a number of megabytes"
        )));
    }
    let api = var("AWS_LAMBDA_RUNTIME_API").unwrap_or_default();
    let has_authority = api
        .parse::<http::Uri>()
        .is_ok_and(|uri| uri.authority().is_some());
    if !has_authority {
        return Err(invalid(format!(
            "AWS_LAMBDA_RUNTIME_API is `{api}`, not a host:port"
        )));
    }
    Ok(())
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn check_env(pairs: &[(&str, &str)]) -> io::Result<()> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        check_with(&|name| env.get(name).cloned())
    }

    const COMPLETE: [(&str, &str); 4] = [
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ("AWS_LAMBDA_FUNCTION_NAME", "backfeed"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
    ];

    #[test]
    fn what_lambda_sets_is_enough() {
        check_env(&COMPLETE).unwrap();
    }

    #[test]
    fn each_missing_variable_is_named() {
        let error = check_env(&COMPLETE[..1]).unwrap_err().to_string();
        for name in &REQUIRED[1..] {
            assert!(error.contains(name), "{error}");
        }
    }

    #[test]
    fn broken_values_are_named() {
        let mut env = COMPLETE;
        env[2].1 = "lots";
        let error = check_env(&env).unwrap_err().to_string();
        assert!(error.contains("MEMORY_SIZE"), "{error}");
        let mut env = COMPLETE;
        env[0].1 = "not a uri";
        let error = check_env(&env).unwrap_err().to_string();
        assert!(error.contains("AWS_LAMBDA_RUNTIME_API"), "{error}");
    }
}
