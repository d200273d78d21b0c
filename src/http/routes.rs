//! A Router under construction that remembers every path it was given.
//!
//! axum cannot list a Router's routes, so the Router is built through
//! [`Routes`], which adds each route to it and records the route's full
//! path (nesting included). `router` serves the Router; the OpenAPI test
//! reads the paths from the same value, and asks the Router itself which
//! methods each path answers (the `Allow` header of a 405).
//!
//! Invariant: a path is in [`Routes::paths`] exactly when the Router has a
//! route for it; there is no other way to add one.

use axum::Router;
use axum::routing::MethodRouter;

pub struct Routes<S = ()> {
    router: Router<S>,
    paths: Vec<String>,
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Self {
            router: Router::new(),
            paths: Vec::new(),
        }
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    pub fn new() -> Self {
        Self::default()
    }

    /// `Router::route` (several calls for one path merge their methods).
    pub fn route(mut self, path: &str, methods: MethodRouter<S>) -> Self {
        self.router = self.router.route(path, methods);
        if !self.paths.iter().any(|known| known == path) {
            self.paths.push(path.to_owned());
        }
        self
    }

    pub fn merge(mut self, other: Self) -> Self {
        self.router = self.router.merge(other.router);
        for path in other.paths {
            if !self.paths.contains(&path) {
                self.paths.push(path);
            }
        }
        self
    }

    /// `Router::nest`: the other's paths under `prefix`.
    pub fn nest(mut self, prefix: &str, other: Self) -> Self {
        self.router = self.router.nest(prefix, other.router);
        for path in other.paths {
            let full = format!("{prefix}{path}");
            if !self.paths.contains(&full) {
                self.paths.push(full);
            }
        }
        self
    }

    /// Anything that keeps the routes as they are: layers, fallbacks, state.
    pub fn map<S2>(self, f: impl FnOnce(Router<S>) -> Router<S2>) -> Routes<S2> {
        Routes {
            router: f(self.router),
            paths: self.paths,
        }
    }

    /// Every path served, in the order they were added.
    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    pub fn into_router(self) -> Router<S> {
        self.router
    }
}

#[cfg(test)]
mod tests {
    use axum::routing::{get, post};

    use super::*;

    #[test]
    fn nested_and_merged_paths_are_recorded_once_each() {
        let inner: Routes = Routes::new()
            .route("/a", get(|| async {}))
            .route("/a", post(|| async {}));
        let routes = Routes::new()
            .route("/", get(|| async {}))
            .nest("/x", inner)
            .merge(Routes::new().route("/y", get(|| async {})));
        assert_eq!(routes.paths(), ["/", "/x/a", "/y"]);
    }
}
