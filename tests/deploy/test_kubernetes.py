"""deploy/k8s built by kustomize's own builder for each overlay, every object checked against the Kubernetes
API schemas (kubernetes-validate) or its operator's CRD (CloudNativePG); then what a schema cannot know:
each service's environment, the Ingress's routes, the restricted security context, partitions and scaling."""

from __future__ import annotations

import functools
import gzip
import importlib.util
import re
import secrets
import subprocess
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from devinfra import tools
from devinfra.tools import ROOT
from shared.events.topics import CONFIGS, all_topics

from .conftest import SERVICES, production_settings, variables_read_by

OVERLAYS = ("district", "province")
KUBERNETES = "1.31.0"
STRIMZI = {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser"}
# The Strimzi operator the Kafka resources are written for: its CRDs (tests/deploy/crds, from the release's
# packaging/install) check them; the Kafka version must be one it supports.
STRIMZI_VERSION = "1.2.0"
STRIMZI_KAFKA_VERSIONS = ("4.2.0", "4.2.1", "4.3.0", "4.3.1")
OPERATOR_ROUTES = ("/metrics", "/ops", "/tokens", "/healthz", "/readyz")


def _build(overlay: str) -> list[dict[str, Any]]:
    built = subprocess.run(
        [str(tools.deploycheck()), "kustomize", str(ROOT / "deploy" / "k8s" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return [d for d in yaml.safe_load_all(built.stdout) if d]


@pytest.fixture(scope="module", params=OVERLAYS)
def objects(request) -> list[dict[str, Any]]:
    return _build(request.param)


def _of(objects, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _strict(schema: Any) -> Any:
    """A CRD's schema as the API server applies it with strict field validation (kubectl's default): a field
    the schema does not declare is refused, unless the schema keeps unknown fields."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if "properties" in out and "additionalProperties" not in out:
        if not out.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    return out


@functools.cache
def _operator_schemas() -> dict[tuple[str, str], jsonschema.Validator]:
    """(apiVersion, kind) → a validator of the schema its operator's CRD gives it: Strimzi (the version the
    files are written for, tests/deploy/crds from its release), CloudNativePG and its Barman Cloud plugin, the
    Prometheus Operator."""
    strimzi = ROOT / "tests" / "deploy" / "crds" / f"strimzi-{STRIMZI_VERSION}-crds.yaml.gz"
    crds = [c for c in yaml.safe_load_all(gzip.decompress(strimzi.read_bytes())) if c]
    for path in (
        tools.cnpg_crd(),
        tools.cnpg_crd("postgresql.cnpg.io_scheduledbackups.yaml"),
        tools.barman_cloud_crd(),
        *(tools.prometheus_operator_crd(p) for p in ("servicemonitors", "podmonitors", "prometheusrules")),
    ):
        crds.append(yaml.safe_load(path.read_text()))
    schemas = {}
    for crd in crds:
        for version in crd["spec"]["versions"]:
            if version.get("served", True):
                key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
                schemas[key] = jsonschema.Draft7Validator(_strict(version["schema"]["openAPIV3Schema"]))
    return schemas


def test_every_object_is_valid_for_its_api(objects):
    operators = _operator_schemas()
    for o in objects:
        if o["apiVersion"].split("/")[0].endswith(("strimzi.io", "cnpg.io", "coreos.com")):
            validator = operators.get((o["apiVersion"], o["kind"]))
            assert validator is not None, f"no operator serves {o['apiVersion']} {o['kind']}"
            validator.validate(o)
        else:
            kubernetes_validate.validate(o, KUBERNETES, strict=True)


def test_no_two_kafka_nodes_share_a_host(objects):
    pool = _of(objects, "KafkaNodePool")["dual"]["spec"]
    [term] = pool["template"]["pod"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"]["strimzi.io/pool-name"] == "dual" and pool["replicas"] == 3


def test_kafka_is_a_version_the_pinned_operator_supports_and_the_same_major_as_development(objects):
    kafka = _of(objects, "Kafka")["tuition-kafka"]["spec"]["kafka"]
    assert kafka["version"] in STRIMZI_KAFKA_VERSIONS
    assert kafka["metadataVersion"].startswith(kafka["version"].rsplit(".", 1)[0])
    pom = (ROOT / "deploy" / "kafka" / "pom.xml").read_text()
    development = re.search(r"<kafka.version>([\d.]+)</kafka.version>", pom)
    assert development and development[1].split(".")[0] == kafka["version"].split(".")[0]
    assert f"Strimzi operator {STRIMZI_VERSION}" in (ROOT / "deploy" / "README.md").read_text()


def test_a_wrong_field_is_caught_by_the_schema_check(objects):
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"path": "/readyz"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)
    operators = _operator_schemas()
    cluster = yaml.safe_load(yaml.safe_dump(_of(objects, "Cluster")["tuition-pg"]))
    cluster["spec"]["instances"] = "three"
    with pytest.raises(jsonschema.ValidationError):
        operators[("postgresql.cnpg.io/v1", "Cluster")].validate(cluster)
    store = yaml.safe_load(yaml.safe_dump(_of(objects, "ObjectStore")["tuition-backups"]))
    store["spec"]["configuration"]["s3Credentials"]["accessKey"] = store["spec"]["configuration"]["s3Credentials"]
    with pytest.raises(jsonschema.ValidationError):
        operators[("barmancloud.cnpg.io/v1", "ObjectStore")].validate(store)
    # Strimzi: a field v1 removed (the node pools hold replicas and storage now) and a misspelt one.
    strimzi = operators
    kafka = yaml.safe_load(yaml.safe_dump(_of(objects, "Kafka")["tuition-kafka"]))
    for field, value in (("replicas", 3), ("listners", [])):
        wrong = yaml.safe_load(yaml.safe_dump(kafka))
        wrong["spec"]["kafka"][field] = value
        with pytest.raises(jsonschema.ValidationError):
            strimzi[(kafka["apiVersion"], "Kafka")].validate(wrong)
    with pytest.raises(AssertionError, match="serves no kafka.strimzi.io/v1beta2"):
        assert (key := ("kafka.strimzi.io/v1beta2", "Kafka")) in strimzi, f"Strimzi serves no {key[0]} Kafka"


def _operators_secrets(overlay: str) -> dict[str, dict[str, Any]]:
    """The Secrets as the operator creates them: `secrets.example.yaml`'s names and keys, real random values."""
    path = ROOT / "deploy" / "k8s" / "overlays" / overlay / "secrets.example.yaml"
    made = {}
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and doc["kind"] == "Secret":
            values = {k: (v if k == "username" else secrets.token_urlsafe(48)) for k, v in doc["stringData"].items()}
            made[doc["metadata"]["name"]] = doc | {"stringData": values}
    return made


def test_no_example_is_applied_and_no_secret_value_is_in_the_manifests():
    for overlay in OVERLAYS:
        kustomization = yaml.safe_load((ROOT / "deploy/k8s/overlays" / overlay / "kustomization.yaml").read_text())
        assert not [r for r in kustomization["resources"] if "example" in r], overlay
        built = _build(overlay)
        assert [o["metadata"]["name"] for o in built if o["kind"] == "Secret"] == [], overlay
        names = {o["metadata"]["name"] for o in built}
        # What the pods need from the operator is named in the example, and nowhere else in what is applied.
        assert set(_operators_secrets(overlay)).isdisjoint(names)


def _environment(objects, container: dict[str, Any]) -> dict[str, str]:
    """The container's environment as the kubelet builds it: envFrom, then env with $(VAR) expanded."""
    namespace = next(o for o in objects if o["kind"] == "Namespace")["metadata"]["name"]
    overlay = "province" if namespace == "tuition-province" else "district"
    maps, made = _of(objects, "ConfigMap"), _operators_secrets(overlay)
    strimzi_user = {"password": "scram-password-from-the-strimzi-user-operator"}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(maps[source["configMapRef"]["name"]]["data"])
        else:
            env.update(made[source["secretRef"]["name"]]["stringData"])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], var["value"])
        else:
            ref = var["valueFrom"]["secretKeyRef"]
            data = strimzi_user if ref["name"] == "tuition" else made[ref["name"]]["stringData"]
            env[var["name"]] = data[ref["key"]]
    return env


def test_each_service_gets_only_what_it_reads_and_starts_in_production(objects, monkeypatch, trust_bundle):
    for name in SERVICES:
        container = _of(objects, "Deployment")[name]["spec"]["template"]["spec"]["containers"][0]
        env = _environment(objects, container)
        referenced = {m for var in container.get("env", []) for m in re.findall(r"\$\((\w+)\)", var.get("value", ""))}
        unknown = set(env) - variables_read_by(name) - referenced
        assert not unknown, f"{name} is given variables it never reads: {sorted(unknown)}"
        if "RECEIPTS_TRUST_BUNDLE" in env:
            env["RECEIPTS_TRUST_BUNDLE"] = str(trust_bundle)  # the ConfigMap's file, once the operator fills it
        env["KAFKA_CA_FILE"] = str(trust_bundle)  # mounted from Strimzi's cluster CA secret
        settings = production_settings(name, env, monkeypatch)
        assert not settings.uses_local_postgres and not settings.uses_local_kafka
        assert settings.development_secrets() == []
        assert settings.kafka_security_protocol == "SASL_SSL"
        assert ("RECEIPTS_KEY_SECRET" in env) == (name == "receipts")
        # The ingress controller's pods (not loopback): each parent has their own rate limit behind it.
        assert settings.proxy_networks() == ["10.0.0.0/8"]


def test_the_default_deny_lets_the_ingress_controller_reach_the_services_and_the_acme_solver(objects):
    policies = _of(objects, "NetworkPolicy")
    solver = policies["acme-http01-solver"]["spec"]
    assert solver["podSelector"]["matchLabels"] == {"acme.cert-manager.io/http01-solver": "true"}
    [rule] = solver["ingress"]
    assert rule["ports"] == [{"port": 8089, "protocol": "TCP"}]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]
    assert policies["default-deny-ingress"]["spec"]["podSelector"] == {}


def test_pods_run_restricted_with_startup_readiness_and_liveness_probes(objects):
    for name in SERVICES:
        pod = _of(objects, "Deployment")[name]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        container = pod["containers"][0]
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert name in _of(objects, "PodDisruptionBudget")
    namespace = next(o for o in objects if o["kind"] == "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_a_pod_stops_within_its_grace_period(objects, monkeypatch, trust_bundle):
    """preStop pause + requests' time to finish + workers' time to close < terminationGracePeriodSeconds: the
    kubelet's SIGKILL never cuts a consumer's commit or the pool's close."""
    for name in SERVICES:
        pod = _of(objects, "Deployment")[name]["spec"]["template"]["spec"]
        container = pod["containers"][0]
        pause = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
        env = _environment(objects, container) | {"KAFKA_CA_FILE": str(trust_bundle)}
        if "RECEIPTS_TRUST_BUNDLE" in env:
            env["RECEIPTS_TRUST_BUNDLE"] = str(trust_bundle)
        settings = production_settings(name, env, monkeypatch)
        budget = pause + settings.http_shutdown_timeout_s + settings.workers_stop_timeout_s
        assert budget + 5 <= pod["terminationGracePeriodSeconds"], (name, budget)


def _routes() -> dict[str, list[str]]:
    spec = importlib.util.spec_from_file_location("access_matrix", ROOT / "tests" / "access_matrix.py")
    assert spec is not None and spec.loader is not None
    matrix = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(matrix)
    return {service: [r.split(" ", 1)[1] for r in routes] for service, routes in matrix.MATRIX.items()}


def test_the_ingress_serves_public_routes_only_over_tls(objects):
    routes = _routes()
    (ingress,) = _of(objects, "Ingress").values()
    hosts_with_tls = {h for t in ingress["spec"]["tls"] for h in t["hosts"]}
    for rule in ingress["spec"]["rules"]:
        assert rule["host"] in hosts_with_tls
        for path in rule["http"]["paths"]:
            service, prefix = path["backend"]["service"]["name"], path["path"]
            served = [r for r in routes[service] if r == prefix or r.startswith(prefix.rstrip("/") + "/")]
            assert served, f"{prefix} on {service} serves no route"
            if path["pathType"] == "Prefix":
                assert not any(r.startswith(OPERATOR_ROUTES) for r in served), f"{prefix} exposes an operator route"


def test_every_route_open_to_anyone_is_reachable_through_the_ingress_and_the_api_docs_are_not(objects):
    """A parent's page missing from the Ingress answers 404 in production, whatever the tests say."""
    spec = importlib.util.spec_from_file_location("access_matrix", ROOT / "tests" / "access_matrix.py")
    assert spec is not None and spec.loader is not None
    matrix = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(matrix)
    (ingress,) = _of(objects, "Ingress").values()
    paths: dict[str, list[tuple[str, str]]] = {}
    for rule in ingress["spec"]["rules"]:
        for p in rule["http"]["paths"]:
            paths.setdefault(p["backend"]["service"]["name"], []).append((p["path"], p["pathType"]))

    def reachable(service: str, route: str) -> bool:
        return any(
            route == path if kind == "Exact" else route == path or route.startswith(path.rstrip("/") + "/")
            for path, kind in paths.get(service, [])
        )

    unreachable = [
        f"{service} {route}"
        for service, routes in matrix.MATRIX.items()
        for route, callers in routes.items()
        if "anonymous" in callers
        and not route.split(" ", 1)[1].startswith(OPERATOR_ROUTES)
        and not reachable(service, route.split(" ", 1)[1])
    ]
    assert unreachable == []
    assert not any(reachable(s, r) for s in SERVICES for r in ("/docs", "/openapi.json"))
    caddy = (ROOT / "deploy" / "caddy" / "Caddyfile").read_text()
    assert "/docs" in caddy and "/openapi.json" in caddy  # compose keeps them internal too
    assert "port-forward" in (ROOT / "deploy" / "README.md").read_text()


def test_topics_partitions_and_scaling_agree(objects):
    config = _of(objects, "ConfigMap")["tuition-config"]["data"]
    partitions = int(config["TUITION_TOPIC_PARTITIONS"])
    topics = _of(objects, "KafkaTopic")
    assert set(topics) == set(all_topics(config["TUITION_TOPIC_PREFIX"]))
    for topic in topics.values():
        assert topic["spec"]["partitions"] == partitions
        assert topic["spec"]["replicas"] == int(config["TUITION_TOPIC_REPLICATION"])
        assert topic["spec"]["config"]["retention.ms"] == int(config["TUITION_TOPIC_RETENTION_MS"])
        # What a topic sets beyond the policy (the keys' compaction) is what the services create it with.
        own = {
            k: str(v) for k, v in topic["spec"]["config"].items() if k not in ("retention.ms", "min.insync.replicas")
        }
        assert own == next((c for t, c in CONFIGS.items() if topic["metadata"]["name"].endswith(t)), {})
    for hpa in _of(objects, "HorizontalPodAutoscaler").values():
        assert hpa["spec"]["maxReplicas"] == partitions  # beyond the partitions a consumer idles


def test_every_pod_at_its_autoscalers_maximum_fits_in_the_databases_connections(objects, monkeypatch, trust_bundle):
    """replicas × workers × (pool + 2: a listener, the start's migration connection), for every service at
    its maximum, plus what PostgreSQL keeps for itself and its operator, within max_connections."""
    cluster = _of(objects, "Cluster")["tuition-pg"]["spec"]
    allowed = int(cluster["postgresql"]["parameters"]["max_connections"])
    autoscalers = {
        h["spec"]["scaleTargetRef"]["name"]: h["spec"] for h in _of(objects, "HorizontalPodAutoscaler").values()
    }
    used = 0
    for name in SERVICES:
        deployment = _of(objects, "Deployment")[name]
        assert "replicas" not in deployment["spec"], f"{name}: the autoscaler owns the count"
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        env = _environment(objects, container) | {"KAFKA_CA_FILE": str(trust_bundle)}
        if "RECEIPTS_TRUST_BUNDLE" in env:
            env["RECEIPTS_TRUST_BUNDLE"] = str(trust_bundle)
        settings = production_settings(name, env, monkeypatch)
        assert settings.pg_command_timeout_s <= 120
        used += autoscalers[name]["maxReplicas"] * settings.workers * (settings.pg_pool_size + 2)
    reserved = 3 + cluster["instances"] + 5  # superuser_reserved_connections, replication, the operator's
    assert used + reserved <= allowed, f"{used} + {reserved} connections > max_connections {allowed}"


def test_prometheus_scrapes_every_service_the_database_and_kafka_and_carries_the_alerts(objects):
    from devinfra import manifests

    monitor = _of(objects, "ServiceMonitor")["tuition-services"]["spec"]
    [scraped] = monitor["selector"]["matchExpressions"]
    assert sorted(scraped["values"]) == sorted(SERVICES) and monitor["jobLabel"] == "app.kubernetes.io/name"
    for service in _of(objects, "Service").values():
        if service["metadata"]["name"] in SERVICES:
            assert {p["name"] for p in service["spec"]["ports"]} >= {monitor["endpoints"][0]["port"]}
    pods = _of(objects, "PodMonitor")
    assert pods["tuition-pg"]["spec"]["selector"]["matchLabels"] == {"cnpg.io/cluster": "tuition-pg"}
    assert pods["tuition-kafka"]["spec"]["selector"]["matchLabels"]["strimzi.io/cluster"] == "tuition-kafka"
    kafka = _of(objects, "Kafka")["tuition-kafka"]["spec"]["kafka"]
    assert kafka["metricsConfig"]["type"] == "strimziMetricsReporter"
    # The alerts Prometheus loads are deploy/monitoring/alerts.yaml's, which promtool tests.
    [rule] = _of(objects, "PrometheusRule").values()
    assert rule["spec"]["groups"] == yaml.safe_load(manifests.ALERTS.read_text())["groups"]
    assert manifests.PROMETHEUS_RULES.read_text() == manifests.prometheus_rules(), "run python -m devinfra.manifests"
    alerts = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert {"ServiceDown", "DiskFillingUp", "DiskAlmostFull", "KafkaUnderReplicated", "ConsumerLagHigh"} <= alerts


def test_the_services_verify_the_database_servers_certificate(objects):
    for name in SERVICES:
        pod = _of(objects, "Deployment")[name]["spec"]["template"]["spec"]
        container = pod["containers"][0]
        dsn = next(v["value"] for v in container["env"] if v["name"] == "PG_DSN")
        assert "sslmode=verify-full" in dsn and "sslrootcert=/etc/tuition/pg-ca/ca.crt" in dsn, name
        mount = next(m for m in container["volumeMounts"] if m["mountPath"] == "/etc/tuition/pg-ca")
        volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
        assert volume["secret"]["secretName"] == "tuition-pg-ca"  # CloudNativePG's CA of the cluster
