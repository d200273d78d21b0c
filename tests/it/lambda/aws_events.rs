//! Events as API Gateway and Lambda send them, built from the recorded
//! fixtures in `tests/fixtures/lambda/`: each test request (method, route,
//! query, headers, body) is written into a fixture the way that deployment
//! puts it (stage or base path in the path, the route template and its
//! path parameters, query maps, base64 bodies).

use std::path::PathBuf;

use base64::Engine;
use serde_json::{Map, Value, json};

/// Where the function sits behind AWS, with the fixture recorded there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deployment {
    /// REST API on its execute-api URL, stage `prod`: `path` has no stage,
    /// `requestContext.path` has it.
    RestStage,
    /// REST API behind a custom domain with base path mapping `comments`:
    /// `path` has the base path.
    RestBasePath,
    /// HTTP API (payload 2.0), stage `prod`, route `ANY /{proxy+}`:
    /// `rawPath` has the stage.
    HttpStage,
    /// HTTP API, `$default` stage and route.
    HttpDefault,
    /// A Function URL (payload 2.0, `$default`, bodies in base64).
    FunctionUrl,
}

impl Deployment {
    pub const ALL: [Self; 5] = [
        Self::RestStage,
        Self::RestBasePath,
        Self::HttpStage,
        Self::HttpDefault,
        Self::FunctionUrl,
    ];

    pub fn fixture(self) -> &'static str {
        match self {
            Self::RestStage => "apigw-v1-rest-stage.json",
            Self::RestBasePath => "apigw-v1-rest-base-path.json",
            Self::HttpStage => "apigw-v2-http-stage.json",
            Self::HttpDefault => "apigw-v2-http-default.json",
            Self::FunctionUrl => "function-url.json",
        }
    }

    /// What the client's URL has before the service's own paths.
    pub fn public_prefix(self) -> &'static str {
        match self {
            Self::RestStage | Self::HttpStage => "/prod",
            Self::RestBasePath => "/comments",
            Self::HttpDefault | Self::FunctionUrl => "",
        }
    }

    /// REST APIs take `multiValueHeaders` answers; the others `headers`.
    pub fn is_rest(self) -> bool {
        matches!(self, Self::RestStage | Self::RestBasePath)
    }

    /// The fixture with `request` written in.
    pub fn event(self, request: &Request) -> Value {
        let mut event = fixture(self.fixture());
        if self.is_rest() {
            self.write_rest(&mut event, request);
        } else {
            self.write_http_api(&mut event, request);
        }
        event
    }

    fn write_rest(self, event: &mut Value, request: &Request) {
        let (resource, parameters) = route_template(&request.route);
        let path = match self {
            Self::RestStage => request.route.clone(),
            _ => format!("{}{}", self.public_prefix(), request.route),
        };
        let public_path = format!("{}{}", self.public_prefix(), request.route);
        event["resource"] = json!(resource);
        event["path"] = json!(path);
        event["httpMethod"] = json!(request.method);
        event["pathParameters"] = parameters;
        event["requestContext"]["resourcePath"] = json!(resource);
        event["requestContext"]["path"] = json!(public_path);
        event["requestContext"]["httpMethod"] = json!(request.method);
        let (single, multi) = if request.query.is_empty() {
            (Value::Null, Value::Null)
        } else {
            let single: Map<String, Value> = request
                .query
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            let multi: Map<String, Value> = request
                .query
                .iter()
                .map(|(k, v)| (k.clone(), json!([v])))
                .collect();
            (Value::Object(single), Value::Object(multi))
        };
        event["queryStringParameters"] = single;
        event["multiValueQueryStringParameters"] = multi;
        for (name, value) in &request.headers {
            event["headers"][name] = json!(value);
            event["multiValueHeaders"][name] = json!([value]);
        }
        event["body"] = request.body.as_ref().map_or(Value::Null, |b| json!(b));
        event["isBase64Encoded"] = json!(false);
    }

    fn write_http_api(self, event: &mut Value, request: &Request) {
        let raw_path = format!("{}{}", self.public_prefix(), request.route);
        if self == Self::HttpStage {
            let (template, parameters) = route_template(&request.route);
            let route_key = format!("ANY {template}");
            event["routeKey"] = json!(route_key);
            event["requestContext"]["routeKey"] = json!(route_key);
            event["pathParameters"] = parameters;
        }
        event["rawPath"] = json!(raw_path);
        event["requestContext"]["http"]["path"] = json!(raw_path);
        event["requestContext"]["http"]["method"] = json!(request.method);
        event["rawQueryString"] = json!(query_string(&request.query));
        if request.query.is_empty() {
            remove(event, "queryStringParameters");
        } else {
            let decoded: Map<String, Value> = request
                .query
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            event["queryStringParameters"] = Value::Object(decoded);
        }
        for (name, value) in &request.headers {
            event["headers"][name.to_ascii_lowercase()] = json!(value);
        }
        let length = request.body.as_ref().map_or(0, String::len);
        event["headers"]["content-length"] = json!(length.to_string());
        // HTTP APIs and Function URLs send bodies that are not text in base64.
        match &request.body {
            None => {
                remove(event, "body");
                event["isBase64Encoded"] = json!(false);
            }
            Some(body) => {
                let encoded = base64::engine::general_purpose::STANDARD.encode(body);
                event["body"] = json!(encoded);
                event["isBase64Encoded"] = json!(true);
            }
        }
    }
}

/// One HTTP request a test sends.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: &'static str,
    /// The service's own path: `/`, `/webmention`, …
    pub route: String,
    /// Decoded query pairs.
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl Request {
    pub fn get(route: &str) -> Self {
        Self {
            method: "GET",
            route: route.to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// `GET /?url=<post>`.
    pub fn lookup(post: &str) -> Self {
        Self::get("/").query("url", post)
    }

    pub fn options(route: &str) -> Self {
        Self {
            method: "OPTIONS",
            ..Self::get(route)
        }
    }

    /// `POST <route>` with a form body.
    pub fn form(route: &str, fields: &[(&str, &str)]) -> Self {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        Self {
            method: "POST",
            body: Some(body),
            ..Self::get(route)
        }
        .header("Content-Type", "application/x-www-form-urlencoded")
    }

    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// A recorded event from `tests/fixtures/lambda/`.
pub fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lambda")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

/// `/` is its own resource; everything else goes through `/{proxy+}`.
fn route_template(route: &str) -> (&'static str, Value) {
    if route == "/" {
        ("/", Value::Null)
    } else {
        ("/{proxy+}", json!({"proxy": route.trim_start_matches('/')}))
    }
}

fn query_string(pairs: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn remove(event: &mut Value, field: &str) {
    if let Some(fields) = event.as_object_mut() {
        fields.remove(field);
    }
}
