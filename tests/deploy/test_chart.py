"""The chart, through Helm's own engine: it lints clean, every manifest is valid for a current
Kubernetes (and the custom resources for their CRDs), and it says what the services need."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from deploy.conftest import of_kind, pod_spec, rendered, selects
from tandem_kernel.cli import HTTP_DRAIN_SECONDS, services
from tandem_kernel.kafka import CONSUMER_DRAIN_SECONDS
from tandem_kernel.settings import SECRETS_DIR, ServiceSettings, service_topic
from tandem_reporting.entrypoints.settings import ReportingSettings
from tandem_sessions.settings import InvitationSettings

from ops.chart import CHART, KUBE_VERSION, Manifest, lint, render, values_of
from ops.engine import REPO

# The oldest Kubernetes the chart supports (Chart.yaml's kubeVersion) and the current one.
KUBE_VERSIONS = ("1.30.0", KUBE_VERSION)
CUSTOM_RESOURCES = {"KafkaTopic", "ServiceMonitor", "PrometheusRule"}
ALL_SERVICES = {"enrollment", "pairing", "sessions", "evaluation", "reporting"}
# Settings one service reads beside the kernel's, by their environment names.
OWN_SETTINGS = {f"sessions_{name}" for name in InvitationSettings.model_fields} | {
    f"reporting_{name}" for name in ReportingSettings.model_fields
}
# Being added to ServiceSettings by the lead; the chart sets them already (extra settings are ignored).
COMING_SETTINGS = {"oidc_issuer", "oidc_audience", "oidc_roles_claim", "oidc_employee_claim"}


def test_the_chart_lints_clean_in_every_environment(environment: str) -> None:
    report = lint(values_of(environment))
    assert report["errors"] == []
    # severity 1 is information (Chart.yaml has no icon); warnings and errors fail
    assert [message for message in report["messages"] if message["severity"] > 1] == []


def test_every_manifest_validates_strictly_against_kubernetes_openapi(manifests: tuple[Manifest, ...]) -> None:
    problems = []
    for version in KUBE_VERSIONS:
        for manifest in manifests:
            if manifest["kind"] in CUSTOM_RESOURCES:
                continue
            try:
                kubernetes_validate.validate(manifest, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                problems.append(f"{version} {manifest['kind']}/{manifest['metadata']['name']}: {error.message}")
    assert problems == []


def test_the_validator_is_strict_enough_to_catch_a_typo() -> None:
    deployment = json.loads(json.dumps(of_kind(rendered("default"), "Deployment")[0]))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {"path": "/readyz"}
    with pytest.raises(kubernetes_validate.ValidationError, match="httpGett"):
        kubernetes_validate.validate(deployment, KUBE_VERSION, strict=True)


def validate_custom_resources(resources: list[Manifest]) -> list[dict[str, Any]]:
    """Each resource checked against its CRD's schema (ops/crds, installed by make deploy-tools)."""
    answer = subprocess.run(
        ["node", str(REPO / "ops" / "crds" / "validate.mjs")],
        input=json.dumps(resources),
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    results: list[dict[str, Any]] = json.loads(answer.stdout)
    return results


def test_the_custom_resources_validate_against_their_crds(manifests: tuple[Manifest, ...]) -> None:
    resources = [manifest for manifest in manifests if manifest["kind"] in CUSTOM_RESOURCES]
    assert {resource["kind"] for resource in resources} == CUSTOM_RESOURCES
    results = validate_custom_resources(resources)
    assert len(results) == len(resources)
    assert [result for result in results if result["errors"]] == []


def test_the_crd_validation_rejects_what_the_operators_would() -> None:
    topic, monitor, rule = (
        of_kind(rendered("default"), kind)[0] for kind in ("KafkaTopic", "ServiceMonitor", "PrometheusRule")
    )
    broken = json.loads(json.dumps([topic, monitor, rule]))
    broken[0]["spec"]["partitions"] = "twelve"
    broken[1]["spec"]["endpoints"][0]["interval"] = "half a minute"
    broken[2]["spec"]["groups"][0]["rules"][0]["for"] = "5 minutes"
    results = validate_custom_resources(broken)
    assert [bool(result["errors"]) for result in results] == [True, True, True], results
    v1beta2 = {**topic, "apiVersion": "kafka.strimzi.io/v1beta2"}
    assert validate_custom_resources([v1beta2])[0]["errors"] == []


def test_every_service_has_an_entry_and_every_installed_one_is_enabled() -> None:
    entries = values_of_chart()["services"]
    assert set(entries) == ALL_SERVICES
    assert set(services()) <= {name for name, entry in entries.items() if entry["enabled"]}


def values_of_chart() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
    return values


def test_each_deployment_has_its_service_pdb_hpa_networkpolicy_and_configmap(manifests: tuple[Manifest, ...]) -> None:
    deployments = of_kind(manifests, "Deployment")
    assert {
        deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
        for deployment in deployments
    } == ALL_SERVICES
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selects(deployment["spec"]["selector"]["matchLabels"])(labels)
        assert [s for s in of_kind(manifests, "Service") if selects(s["spec"]["selector"])(labels)], name
        assert [
            p
            for p in of_kind(manifests, "PodDisruptionBudget")
            if selects(p["spec"]["selector"]["matchLabels"])(labels)
        ], name
        hpas = [h for h in of_kind(manifests, "HorizontalPodAutoscaler") if h["spec"]["scaleTargetRef"]["name"] == name]
        assert len(hpas) == 1 and "replicas" not in deployment["spec"], f"{name}: the HPA owns the replica count"
        policies = [
            policy
            for policy in of_kind(manifests, "NetworkPolicy")
            if selects(policy["spec"]["podSelector"]["matchLabels"])(labels)
        ]
        assert len(policies) == 1 and set(policies[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}, name
        config = deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"]
        assert config in {c["metadata"]["name"] for c in of_kind(manifests, "ConfigMap")}


def test_every_pod_is_hardened_and_bounded(manifests: tuple[Manifest, ...]) -> None:
    workloads = [m for m in manifests if m["kind"] in {"Deployment", "Job", "Pod"}]
    assert {m["kind"] for m in workloads} == {"Deployment", "Job", "Pod"}
    for workload in workloads:
        spec = pod_spec(workload)
        assert spec["automountServiceAccountToken"] is False
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] >= 10000
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert {"requests", "limits"} <= set(container["resources"])
            _repository, _, tag = container["image"].rpartition(":")
            assert "@sha256:" in container["image"] or (tag and tag != "latest"), container["image"]
            mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
            assert "/tmp" in mounts, "the only writable path"


def test_service_accounts_mount_no_token(manifests: tuple[Manifest, ...]) -> None:
    accounts = of_kind(manifests, "ServiceAccount")
    assert len(accounts) == len(of_kind(manifests, "Deployment"))
    assert all(account["automountServiceAccountToken"] is False for account in accounts)


def test_probes_and_the_grace_period_cover_the_services_drain(manifests: tuple[Manifest, ...]) -> None:
    for deployment in of_kind(manifests, "Deployment"):
        spec = pod_spec(deployment)
        container = spec["containers"][0]
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert pre_stop > 0, "endpoints and ingress controllers need time to forget a terminating pod"
        assert spec["terminationGracePeriodSeconds"] >= pre_stop + HTTP_DRAIN_SECONDS + CONSUMER_DRAIN_SECONDS
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_settings_are_servicesettings_fields_and_secrets_are_files_in_its_secrets_dir(
    manifests: tuple[Manifest, ...],
) -> None:
    fields = set(ServiceSettings.model_fields) | COMING_SETTINGS | OWN_SETTINGS
    for config in of_kind(manifests, "ConfigMap"):
        if "SERVICE_NAME" not in config["data"]:
            continue  # a dashboard
        assert {key.lower() for key in config["data"]} <= fields
        assert config["data"]["HTTP_HOST"] == "0.0.0.0"
    for workload in [*of_kind(manifests, "Deployment"), *of_kind(manifests, "Job")]:
        spec = pod_spec(workload)
        (secrets,) = [volume for volume in spec["volumes"] if volume["name"] == "secrets"]
        files = {item["path"] for source in secrets["projected"]["sources"] for item in source["secret"]["items"]}
        assert {"database_url", "personal_data_master_key", "oidc_issuer", "oidc_audience"} <= files <= fields
        (mount,) = [m for m in spec["containers"][0]["volumeMounts"] if m["name"] == "secrets"]
        assert mount["mountPath"] == str(SECRETS_DIR)
        assert not [e for e in spec["containers"][0].get("env", []) if "valueFrom" in e], "secrets are files"


def test_a_settings_change_rolls_the_pods_and_a_replica_change_does_not() -> None:
    def checksums(values: dict[str, Any]) -> dict[str, str]:
        return {
            d["metadata"]["name"]: d["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
            for d in of_kind(tuple(render(values)), "Deployment")
        }

    base = checksums({})
    assert checksums({"serviceDefaults": {"replicaCount": 5}}) == base
    debug = checksums({"logging": {"level": "DEBUG"}})
    assert all(debug[name] != base[name] for name in base)
    one = checksums({"services": {"pairing": {"enabled": True, "relay": {"batchSize": 50}}}})
    assert [name for name in base if one[name] != base[name]] == ["tandem-pairing"]


def test_migrations_run_before_install_and_upgrade_without_the_configmap(manifests: tuple[Manifest, ...]) -> None:
    jobs = of_kind(manifests, "Job")
    assert len(jobs) == len(of_kind(manifests, "Deployment"))
    for job in jobs:
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
        container = pod_spec(job)["containers"][0]
        service = container["args"][1]
        assert container["args"] == ["migrate", service]
        assert "envFrom" not in container, "the ConfigMap does not exist yet on a first install"
        assert {"name": "SERVICE_NAME", "value": service} in container["env"]
    hook_policies = [
        p for p in of_kind(manifests, "NetworkPolicy") if "helm.sh/hook" in p["metadata"].get("annotations", {})
    ]
    migration_policies = [
        p for p in hook_policies if p["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    ]
    assert len(migration_policies) == len(jobs)
    assert all(int(p["metadata"]["annotations"]["helm.sh/hook-weight"]) < 0 for p in migration_policies)


def test_kafka_topics_are_each_services_topic_and_dead_letter_topic(manifests: tuple[Manifest, ...]) -> None:
    topics = {topic["spec"]["topicName"]: topic for topic in of_kind(manifests, "KafkaTopic")}
    configs = {
        c["data"]["SERVICE_NAME"]: c["data"] for c in of_kind(manifests, "ConfigMap") if "SERVICE_NAME" in c["data"]
    }
    assert set(topics) == {
        name for service in ALL_SERVICES for name in (service_topic(service), service_topic(service) + ".dlq")
    }
    for service, settings in configs.items():
        for name in (service_topic(service), service_topic(service) + ".dlq"):
            spec = topics[name]["spec"]
            assert spec["partitions"] == int(settings["KAFKA_TOPIC_PARTITIONS"])
            assert spec["replicas"] == int(settings["KAFKA_REPLICATION_FACTOR"]) == 3
            assert spec["config"]["min.insync.replicas"] == 2
            assert spec["config"]["retention.ms"] > 0
            assert topics[name]["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
            assert topics[name]["metadata"]["labels"]["strimzi.io/cluster"]


def test_topics_are_left_out_where_they_are_managed_otherwise() -> None:
    assert of_kind(tuple(render({"kafka": {"topics": {"create": False}}})), "KafkaTopic") == []


def test_network_policies_reach_only_the_services_own_database_and_its_dependencies(
    manifests: tuple[Manifest, ...], environment: str
) -> None:
    for deployment in of_kind(manifests, "Deployment"):
        service = deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
        (policy,) = [
            p for p in of_kind(manifests, "NetworkPolicy") if p["metadata"]["name"] == deployment["metadata"]["name"]
        ]
        egress_ports = sorted(str(port["port"]) for rule in policy["spec"]["egress"] for port in rule["ports"])
        expected = [53, 53, 5432, 9093, 443, 4318]
        expected += {"reporting": ["http"], "sessions": [587] if environment == "production" else []}.get(service, [])
        assert egress_ports == sorted(str(port) for port in expected)
        (database,) = [rule for rule in policy["spec"]["egress"] if rule["ports"][0]["port"] == 5432]
        assert database["to"][0]["podSelector"]["matchLabels"] == {"cnpg.io/cluster": f"tandem-{service}-db"}
        sources = policy["spec"]["ingress"][0]["from"]
        assert {"ingress-nginx", "monitoring"} <= {
            peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
            for peer in sources
        }
        assert [port["port"] for port in policy["spec"]["ingress"][0]["ports"]] == ["http"]
        from_reporting = {"app.kubernetes.io/component": "reporting"}.items() <= (
            sources[-1].get("podSelector", {}).get("matchLabels", {}).items()
        )
        assert from_reporting == (service != "reporting"), "the ops page asks every other service"


def test_the_ops_page_finds_every_service_and_sessions_mails_through_the_configured_relay() -> None:
    manifests = rendered("production")
    configs = {
        c["data"]["SERVICE_NAME"]: c["data"] for c in of_kind(manifests, "ConfigMap") if "SERVICE_NAME" in c["data"]
    }
    peers = json.loads(configs["reporting"]["REPORTING_PEERS"])
    assert peers == {name: f"http://tandem-{name}" for name in ALL_SERVICES}
    services = {s["metadata"]["name"]: s for s in of_kind(manifests, "Service")}
    assert all(services[url.removeprefix("http://")]["spec"]["ports"][0]["port"] == 80 for url in peers.values())

    monkeypatch = pytest.MonkeyPatch()
    with monkeypatch.context() as patch:
        for key, value in configs["sessions"].items():
            patch.setenv(key, value)
        mail = InvitationSettings()
    assert (mail.smtp_host, mail.smtp_port, mail.smtp_starttls) == ("smtp.example.com", 587, True)
    assert mail.mail_address.format(employee_id="E1") == "E1@example.com" and mail.enabled
    (sessions,) = [d for d in of_kind(manifests, "Deployment") if d["metadata"]["name"] == "tandem-sessions"]
    (volume,) = [v for v in pod_spec(sessions)["volumes"] if v["name"] == "secrets"]
    assert {"name": "tandem-smtp", "items": [{"key": "password", "path": "sessions_smtp_password"}]} in [
        source["secret"] for source in volume["projected"]["sources"]
    ]
    (policy,) = [p for p in of_kind(manifests, "NetworkPolicy") if p["metadata"]["name"] == "tandem-sessions"]
    assert {"to": [{"ipBlock": {"cidr": "10.20.0.25/32"}}], "ports": [{"port": 587, "protocol": "TCP"}]} in policy[
        "spec"
    ]["egress"]
    for name in ALL_SERVICES - {"sessions"}:
        assert not any(key.startswith("SESSIONS_") for key in configs[name])


def test_the_ingress_serves_each_api_on_its_host_and_the_dashboard(manifests: tuple[Manifest, ...]) -> None:
    (ingress,) = of_kind(manifests, "Ingress")
    routes = {
        (rule["host"], path["path"]): path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    dashboard = [(host, path) for host, path in routes if path == "/dashboard"]
    assert len(dashboard) == 1 and routes[dashboard[0]] == "tandem-reporting"
    assert sorted(name for (host, path), name in routes.items() if path == "/") == sorted(
        f"tandem-{s}" for s in ALL_SERVICES
    )
    assert {host for host, _ in routes} <= set(ingress["spec"]["tls"][0]["hosts"])


def test_monitoring_scrapes_every_service_and_carries_the_rules_and_dashboards(manifests: tuple[Manifest, ...]) -> None:
    (monitor,) = of_kind(manifests, "ServiceMonitor")
    for service in of_kind(manifests, "Service"):
        assert selects(monitor["spec"]["selector"]["matchLabels"])(service["metadata"]["labels"])
    (rule,) = of_kind(manifests, "PrometheusRule")
    assert rule["spec"] == yaml.safe_load((CHART / "files" / "observability" / "alerts.yaml").read_text())
    dashboards = [c for c in of_kind(manifests, "ConfigMap") if c["metadata"]["labels"].get("grafana_dashboard") == "1"]
    assert dashboards and all(json.loads(text)["panels"] for c in dashboards for text in c["data"].values())


def test_the_helm_test_asks_every_service_for_readiness(manifests: tuple[Manifest, ...]) -> None:
    tests = [m for m in manifests if m["metadata"].get("annotations", {}).get("helm.sh/hook") == "test"]
    (pod,) = [m for m in tests if m["kind"] == "Pod"]
    urls = pod["spec"]["containers"][0]["args"][1:]
    assert sorted(urls) == sorted(f"http://tandem-{s}/readyz" for s in ALL_SERVICES)


def test_production_runs_twenty_pods_of_the_busiest_service_on_twelve_partitions() -> None:
    manifests = rendered("production")
    (sessions,) = [
        h for h in of_kind(manifests, "HorizontalPodAutoscaler") if h["metadata"]["name"] == "tandem-sessions"
    ]
    assert sessions["spec"]["maxReplicas"] == 20
    assert {topic["spec"]["partitions"] for topic in of_kind(manifests, "KafkaTopic")} == {12}
    spread = pod_spec(of_kind(manifests, "Deployment")[0])["topologySpreadConstraints"]
    assert spread[0]["topologyKey"] == "topology.kubernetes.io/zone"
    assert spread[0]["whenUnsatisfiable"] == "DoNotSchedule"


def test_staging_is_small() -> None:
    hpas = of_kind(rendered("staging"), "HorizontalPodAutoscaler")
    assert max(hpa["spec"]["maxReplicas"] for hpa in hpas) <= 2


def test_disabled_services_render_nothing() -> None:
    values = {"services": {name: {"enabled": name == "enrollment"} for name in ALL_SERVICES}}
    values["ingress"] = {"dashboard": {"enabled": False}}
    manifests = tuple(render(values))
    components = {m["metadata"]["labels"].get("app.kubernetes.io/component") for m in manifests}
    assert components - {None, "test"} == {"enrollment", "enrollment-migration"}


def test_the_rendered_settings_and_secret_files_boot_a_production_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a production pod reads (its ConfigMap as the environment, its Secrets as files) passes the
    settings' production checks: no crash loop on install."""
    manifests = rendered("production")
    configs = {c["metadata"]["name"]: c["data"] for c in of_kind(manifests, "ConfigMap") if "SERVICE_NAME" in c["data"]}
    for deployment in of_kind(manifests, "Deployment"):
        spec = pod_spec(deployment)
        secrets = tmp_path / deployment["metadata"]["name"]
        secrets.mkdir()
        (volume,) = [v for v in spec["volumes"] if v["name"] == "secrets"]
        for source in volume["projected"]["sources"]:
            for item in source["secret"]["items"]:
                (secrets / item["path"]).write_text(f"a real {item['path']} from {source['secret']['name']}\n")
        with monkeypatch.context() as patch:
            for key, value in configs[spec["containers"][0]["envFrom"][0]["configMapRef"]["name"]].items():
                patch.setenv(key, value)
            settings = ServiceSettings(_secrets_dir=secrets)  # type: ignore[call-arg]
        service = settings.service_name
        assert settings.environment == "production" and settings.kafka_idempotent_producer
        assert settings.database_url == f"a real database_url from tandem-{service}-db-app"
        assert settings.kafka_security_protocol == "SASL_SSL" and settings.kafka_sasl_username == f"tandem-{service}"
        assert settings.kafka_sasl_password is not None
        assert settings.kafka_sasl_password.get_secret_value() == f"a real kafka_sasl_password from tandem-{service}"
        assert settings.http_host == "0.0.0.0" and settings.topic == service_topic(service)
