//! Reads `template.yaml` (AWS SAM) for the routes: which method and path, which
//! function serves them, and whether the HttpApi's default authorizer guards
//! them. The template is the single source of truth for routing.

use std::path::Path;

use serde_yaml::Value;

/// One `HttpApi` event of one function.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteSpec {
    pub method: String,
    pub path: String,
    /// The function's logical id in the template (`ProductsFunction`).
    pub function: String,
    /// The cargo binary the function is built from (`products`).
    pub binary: String,
    /// Whether API Gateway runs the authorizer first.
    pub protected: bool,
}

/// The path and method of the `$default` route, as API Gateway names them in
/// its route key (`$default`) and the dev server prints them.
pub const DEFAULT_ROUTE: &str = "$default";
pub const DEFAULT_METHOD: &str = "ANY";

impl RouteSpec {
    pub fn is_default(&self) -> bool {
        self.path == DEFAULT_ROUTE
    }
}

pub fn load(path: &Path) -> Result<Vec<RouteSpec>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text)
}

pub fn parse(text: &str) -> Result<Vec<RouteSpec>, String> {
    let doc: Value =
        serde_yaml::from_str(text).map_err(|e| format!("template.yaml is not valid YAML: {e}"))?;
    let resources = doc
        .get("Resources")
        .and_then(Value::as_mapping)
        .ok_or("template.yaml has no Resources")?;
    let apis_with_default_authorizer: Vec<String> = resources
        .iter()
        .filter(|(_, r)| type_of(r) == Some("AWS::Serverless::HttpApi"))
        .filter(|(_, r)| {
            r.get("Properties")
                .and_then(|p| p.get("Auth"))
                .and_then(|a| a.get("DefaultAuthorizer"))
                .is_some()
        })
        .filter_map(|(id, _)| id.as_str().map(str::to_owned))
        .collect();

    let mut routes = Vec::new();
    for (id, resource) in resources {
        if type_of(resource) != Some("AWS::Serverless::Function") {
            continue;
        }
        let function = id
            .as_str()
            .ok_or("a resource id is not a string")?
            .to_owned();
        let Some(events) = resource
            .get("Properties")
            .and_then(|p| p.get("Events"))
            .and_then(Value::as_mapping)
        else {
            continue;
        };
        let binary = resource
            .get("Metadata")
            .and_then(|m| m.get("BuildProperties"))
            .and_then(|b| b.get("Binary"))
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{function} has no Metadata.BuildProperties.Binary"))?
            .to_owned();
        for (event_id, event) in events {
            if type_of(event) != Some("HttpApi") {
                continue;
            }
            let props = event
                .get("Properties")
                .ok_or_else(|| format!("{function}: event without Properties"))?;
            let field = |name: &str| {
                props
                    .get(name)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        format!(
                            "{function}.{}: HttpApi event without {name}",
                            event_id.as_str().unwrap_or("?")
                        )
                    })
            };
            let api = props.get("ApiId").and_then(ref_target);
            let authorizer = props
                .get("Auth")
                .and_then(|a| a.get("Authorizer"))
                .and_then(Value::as_str);
            let guarded_by_default =
                api.is_some_and(|api| apis_with_default_authorizer.contains(&api));
            // No Path and no Method: SAM's `$default` route, which takes every
            // request no other route matches.
            let (method, path) = if props.get("Path").is_none() && props.get("Method").is_none() {
                (DEFAULT_METHOD.to_owned(), DEFAULT_ROUTE.to_owned())
            } else {
                (field("Method")?.to_ascii_uppercase(), field("Path")?)
            };
            routes.push(RouteSpec {
                method,
                path,
                function: function.clone(),
                binary: binary.clone(),
                protected: match authorizer {
                    Some("NONE") => false,
                    Some(_) => true,
                    None => guarded_by_default,
                },
            });
        }
    }
    routes.sort();
    Ok(routes)
}

/// The HttpApi's `CorsConfiguration`: what API Gateway answers preflights with
/// and adds to responses. `None` when the template has none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorsSpec {
    pub origins: CorsOrigins,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorsOrigins {
    /// Written in the template.
    Listed(Vec<String>),
    /// `!Ref` to this template parameter: given at deploy time, and to the dev
    /// server by its own setting.
    Parameter(String),
}

pub fn load_cors(path: &Path) -> Result<Option<CorsSpec>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_cors(&text)
}

/// Reads the one HttpApi's `CorsConfiguration`, a mapping or
/// `!If [condition, mapping, !Ref AWS::NoValue]` (the condition being "some
/// origins are given", which the dev server decides from its own setting).
pub fn parse_cors(text: &str) -> Result<Option<CorsSpec>, String> {
    let doc: Value =
        serde_yaml::from_str(text).map_err(|e| format!("template.yaml is not valid YAML: {e}"))?;
    let resources = doc
        .get("Resources")
        .and_then(Value::as_mapping)
        .ok_or("template.yaml has no Resources")?;
    let mut blocks = resources
        .iter()
        .filter(|(_, r)| type_of(r) == Some("AWS::Serverless::HttpApi"))
        .filter_map(|(_, r)| r.get("Properties")?.get("CorsConfiguration"));
    let Some(block) = blocks.next() else {
        return Ok(None);
    };
    if blocks.next().is_some() {
        return Err(
            "more than one HttpApi has a CorsConfiguration; the dev server plays one".into(),
        );
    }
    let block = match if_branches(block) {
        Some([_, then, otherwise]) if is_no_value(otherwise) => then,
        Some([_, then, otherwise]) if is_no_value(then) => otherwise,
        Some(_) => {
            return Err(
                "CorsConfiguration: an !If must have !Ref AWS::NoValue as one branch".into(),
            );
        }
        None => block,
    };
    let block = block
        .as_mapping()
        .ok_or("CorsConfiguration must be a mapping (or an !If of one and AWS::NoValue)")?;
    let list = |name: &str| -> Result<Vec<String>, String> {
        match block.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Sequence(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("CorsConfiguration.{name}: not a list of strings"))
                })
                .collect(),
            Some(_) => Err(format!("CorsConfiguration.{name}: not a list of strings")),
        }
    };
    let origins = match block.get("AllowOrigins").and_then(ref_target) {
        Some(parameter) => CorsOrigins::Parameter(parameter),
        None => CorsOrigins::Listed(list("AllowOrigins")?),
    };
    let max_age = match block.get("MaxAge") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or("CorsConfiguration.MaxAge: not a number of seconds")?,
        ),
    };
    if block.get("AllowCredentials").and_then(Value::as_bool) == Some(true) {
        return Err("CorsConfiguration.AllowCredentials is not played by the dev server".into());
    }
    Ok(Some(CorsSpec {
        origins,
        allow_methods: list("AllowMethods")?,
        allow_headers: list("AllowHeaders")?,
        expose_headers: list("ExposeHeaders")?,
        max_age,
    }))
}

/// The three items of `!If [c, a, b]` (or `{"Fn::If": [c, a, b]}`).
fn if_branches(v: &Value) -> Option<&[Value; 3]> {
    let items = match v {
        Value::Tagged(t) if t.tag == "!If" => t.value.as_sequence()?,
        Value::Mapping(m) => m.get("Fn::If")?.as_sequence()?,
        _ => return None,
    };
    items.as_slice().try_into().ok()
}

fn is_no_value(v: &Value) -> bool {
    ref_target(v).as_deref() == Some("AWS::NoValue")
}

fn type_of(v: &Value) -> Option<&str> {
    v.get("Type").and_then(Value::as_str)
}

/// The logical id of `!Ref X` (or `{"Ref": "X"}`).
fn ref_target(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) if t.tag == "!Ref" => t.value.as_str().map(str::to_owned),
        Value::Mapping(m) => m.get("Ref").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_routes_functions_and_protection() {
        let yaml = r#"
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties: { Auth: { DefaultAuthorizer: Jwt } }
  Fn:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: things } }
    Properties:
      Events:
        Open: { Type: HttpApi, Properties: { ApiId: !Ref Api, Path: /things, Method: get, Auth: { Authorizer: NONE } } }
        Closed: { Type: HttpApi, Properties: { ApiId: !Ref Api, Path: "/things/{id}", Method: PUT } }
        Rest: { Type: HttpApi, Properties: { ApiId: !Ref Api, Auth: { Authorizer: NONE } } }
"#;
        let routes = parse(yaml).unwrap();
        assert_eq!(routes.len(), 3);
        assert!(
            routes
                .iter()
                .any(|r| r.is_default() && r.method == "ANY" && !r.protected)
        );
        assert!(
            routes
                .iter()
                .any(|r| r.method == "GET" && r.path == "/things" && !r.protected)
        );
        assert!(
            routes
                .iter()
                .any(|r| r.method == "PUT" && r.binary == "things" && r.protected)
        );
    }

    #[test]
    fn reads_a_conditional_cors_configuration_and_its_origins_parameter() {
        let yaml = r#"
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration: !If
        - HasOrigins
        - AllowOrigins: !Ref Origins
          AllowMethods: [GET, PUT]
          AllowHeaders: [Authorization]
          ExposeHeaders: [Location]
          MaxAge: 600
        - !Ref AWS::NoValue
"#;
        assert_eq!(
            parse_cors(yaml).unwrap(),
            Some(CorsSpec {
                origins: CorsOrigins::Parameter("Origins".into()),
                allow_methods: vec!["GET".into(), "PUT".into()],
                allow_headers: vec!["Authorization".into()],
                expose_headers: vec!["Location".into()],
                max_age: Some(600),
            })
        );
        let listed = "Resources: { Api: { Type: AWS::Serverless::HttpApi, Properties: { CorsConfiguration: { AllowOrigins: [\"https://a.example\"] } } } }";
        assert_eq!(
            parse_cors(listed).unwrap().unwrap().origins,
            CorsOrigins::Listed(vec!["https://a.example".into()])
        );
        let none = "Resources: { Api: { Type: AWS::Serverless::HttpApi, Properties: {} } }";
        assert_eq!(parse_cors(none).unwrap(), None);
    }
}
