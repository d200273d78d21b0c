//! How requests reach the Router. Only this layer knows which runtime runs:
//! a socket server, AWS Lambda, or an OpenWhisk action. Each one hands
//! requests to the same `App::router()` and runs the same background work
//! (`jobs`), continuously or on a schedule.

pub mod lambda;
pub mod openwhisk;
pub mod server;
