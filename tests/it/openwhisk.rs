//! `backfeed openwhisk`: the real binary as an OpenWhisk / DigitalOcean
//! Functions action. The tests play the platform: the Go runtime's proxy
//! (ActionLoop: activations on stdin, results on fd 3) and the invoker of
//! a blackbox container (`--http`: `/init` and `/run`), with activations
//! shaped as the web gateway and a scheduled trigger make them.

mod harness;

mod action_loop;
mod action_proxy;
mod read_api;
mod seed_contract;
mod webmentions;
