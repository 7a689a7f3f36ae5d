"""Checks of what operating the stack relies on, in the translated template:
X-Ray tracing on every function; a log group per function, named as Lambda
names it and with a retention; the API stage's JSON access log and throttling
(stage-wide and per route); the alarms (API 5xx rate, and each function's
Errors, Throttles and p99 Duration), wired to the SNS topic when one is given
and to nothing otherwise.
"""

import json

from cfn_resolve import Resolver
from check_secrets import EVERYTHING
from checks import check, refs_of

# The access log's fields, each with the API Gateway variable it must carry.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationErrorMessage": "$context.integrationErrorMessage",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "authorizerError": "$context.authorizer.error",
}
# Routes that must have throttling of their own: each argon2id hash is ~30 ms
# of CPU, and a refresh is public and writes to the store.
THROTTLED_ROUTES = ["POST /register", "POST /login", "POST /token/refresh"]


def number_parameter(doc, value, what):
    """The default of the Number parameter `value` refers to (None if it is not one)."""
    name = value.get("Ref") if isinstance(value, dict) else None
    param = doc.get("Parameters", {}).get(name, {})
    ok = check(param.get("Type") == "Number" and "Default" in param, f"{what} is a Number parameter ({value})")
    return float(param["Default"]) if ok else None


def log_group(resources, value, what):
    """The log group resource `value` points at, checked for a retention."""
    targets = refs_of(value)
    target = next(iter(targets), None)
    ok = check(
        len(targets) == 1 and resources.get(target, {}).get("Type") == "AWS::Logs::LogGroup",
        f"{what}: a log group of the stack ({sorted(targets)})",
    )
    if not ok:
        return None
    check(
        resources[target]["Properties"].get("RetentionInDays") == {"Ref": "LogRetentionDays"},
        f"{what}: {target} keeps logs for LogRetentionDays",
    )
    return target


def check_functions(doc, functions):
    resources = doc["Resources"]
    resolver = Resolver(doc)
    retention = doc.get("Parameters", {}).get("LogRetentionDays", {})
    check(retention.get("Default") == 30, f"log retention defaults to 30 days ({retention.get('Default')})")
    for fn in sorted(functions):
        props = resources[fn]["Properties"]
        check(props.get("TracingConfig", {}).get("Mode") == "Active", f"{fn}: X-Ray tracing active")
        group = log_group(resources, props.get("LoggingConfig", {}).get("LogGroup"), f"{fn}: LoggingConfig.LogGroup")
        if group:
            name = resolver.resolve(props.get("FunctionName"))
            group_name = resolver.resolve(resources[group]["Properties"].get("LogGroupName"))
            check(
                isinstance(name, str) and group_name == f"/aws/lambda/{name}",
                f"{fn}: its log group is /aws/lambda/<its name> ({group_name} for {name})",
            )


def check_stage(doc, api_id, cfn_routes):
    resources = doc["Resources"]
    stages = [k for k, r in resources.items() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    stages = [k for k in stages if api_id in refs_of(resources[k]["Properties"].get("ApiId"))]
    if not check(len(stages) == 1, f"{api_id}: one stage ({stages})"):
        return
    props = resources[stages[0]]["Properties"]
    access = props.get("AccessLogSettings", {})
    log_group(resources, access.get("DestinationArn"), f"{stages[0]}: access log")
    text = access.get("Format", "")
    try:
        fields = json.loads(text)
    except ValueError:
        fields = None
    check(isinstance(fields, dict) and "\n" not in text, f"{stages[0]}: the access log format is one JSON object a line")
    for field, variable in ACCESS_LOG_FIELDS.items():
        got = (fields or {}).get(field)
        check(got == variable, f"{stages[0]}: access log field {field} is {variable} ({got})")

    defaults = props.get("DefaultRouteSettings", {})
    stage_burst = number_parameter(doc, defaults.get("ThrottlingBurstLimit"), "stage throttling burst")
    stage_rate = number_parameter(doc, defaults.get("ThrottlingRateLimit"), "stage throttling rate")
    check(bool(stage_burst) and bool(stage_rate), "stage throttling is on by default (burst and rate > 0)")
    route_keys = {f"{m} {p}" for m, p, _, _ in cfn_routes}
    settings = props.get("RouteSettings", {})
    for key in sorted(settings):
        check(key in route_keys, f"route throttling names a route of the API ({key})")
    for key in THROTTLED_ROUTES:
        route = settings.get(key, {})
        burst = number_parameter(doc, route.get("ThrottlingBurstLimit"), f"{key} throttling burst")
        rate = number_parameter(doc, route.get("ThrottlingRateLimit"), f"{key} throttling rate")
        check(
            None not in (burst, rate, stage_burst, stage_rate) and 0 < burst <= stage_burst and 0 < rate <= stage_rate,
            f"{key}: throttled by default below the stage's limits ({burst}/{rate})",
        )


def lambda_alarm(alarms, fn, metric, statistic):
    return [
        a
        for a in alarms.values()
        if a.get("Namespace") == "AWS/Lambda"
        and a.get("MetricName") == metric
        and a.get("Dimensions") == [{"Name": "FunctionName", "Value": {"Ref": fn}}]
        and statistic in (a.get("Statistic"), a.get("ExtendedStatistic"))
    ]


def is_api_rate_alarm(alarm, api_id):
    """Metric math: the returned expression divides the API's 5xx by its Count."""
    queries = {q.get("Id"): q for q in alarm.get("Metrics", [])}

    def api_metric(query_id):
        metric = queries.get(query_id, {}).get("MetricStat", {}).get("Metric", {})
        dims = metric.get("Dimensions", [])
        on_api = dims == [{"Name": "ApiId", "Value": {"Ref": api_id}}]
        return metric.get("MetricName") if metric.get("Namespace") == "AWS/ApiGateway" and on_api else None

    returned = [q for q in queries.values() if q.get("ReturnData") is True]
    if len(returned) != 1 or "Expression" not in returned[0]:
        return False
    parts = [p.strip() for p in returned[0]["Expression"].split("/")]
    return len(parts) == 2 and api_metric(parts[0]) == "5xx" and api_metric(parts[1]) == "Count"


def check_alarms(doc, functions, api_id):
    resources = doc["Resources"]
    for scenario, overrides in [("no topic", {}), ("a topic", EVERYTHING)]:
        resolver = Resolver(doc, overrides)
        alarms = {
            k: resolver.resolve(r["Properties"]) for k, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"
        }
        topic = overrides.get("AlarmTopicArn")
        for name, alarm in sorted(alarms.items()):
            wanted = [topic] if topic else []
            check(
                alarm.get("AlarmActions", []) == wanted and alarm.get("OKActions", []) == wanted,
                f"[{scenario}] {name}: notifies {wanted or 'nobody'}",
            )
        if scenario != "no topic":
            continue
        rate = [name for name, a in alarms.items() if is_api_rate_alarm(a, api_id)]
        check(len(rate) == 1, f"an alarm on the API's 5xx / Count ({rate})")
        for name in rate:
            limit = number_parameter(doc, resources[name]["Properties"].get("Threshold"), f"{name} threshold")
            check(limit is not None and 0 < limit < 1, f"{name}: the threshold is a share of requests ({limit})")
        for fn in sorted(functions):
            check(len(lambda_alarm(alarms, fn, "Errors", "Sum")) == 1, f"{fn}: an alarm on its Errors")
            check(len(lambda_alarm(alarms, fn, "Throttles", "Sum")) == 1, f"{fn}: an alarm on its Throttles")
            check(len(lambda_alarm(alarms, fn, "Duration", "p99")) == 1, f"{fn}: an alarm on its p99 Duration")
    conditions = doc.get("Conditions", {})
    check(
        conditions.get("HasAlarmTopic") == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]}
        and doc.get("Parameters", {}).get("AlarmTopicArn", {}).get("Default") == "",
        "AlarmTopicArn is optional, and the alarms act only when it is given",
    )


def check_operations(doc, functions, api_id, cfn_routes):
    check_functions(doc, functions)
    check_stage(doc, api_id, cfn_routes)
    check_alarms(doc, functions, api_id)
