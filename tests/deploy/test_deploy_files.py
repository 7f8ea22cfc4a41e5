"""The files under deploy/ and the Dockerfile: each read by the code or the rules that use it.

Caddy, SearXNG, Keycloak, Prometheus and Grafana cannot run here; their files are checked as
data against what the compose file and our metrics catalogue say. The word lists are loaded
by the search proxy's own reader, and the image's entrypoint script is run with sh.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

import core.observability.metrics  # noqa: F401  (registers every metric of the catalogue)
from search_proxy.sensitive.matcher import SensitiveFilter
from search_proxy.settings import FilterSettings
from tests.deploy.test_compose import ROOT, SERVICES

DEPLOY = ROOT / "deploy"


def test_tls_is_terminated_with_tls13_only_and_internal_endpoints_stay_inside():
    caddyfile = (DEPLOY / "caddy" / "Caddyfile").read_text()
    assert re.search(r"protocols\s+tls1\.3\s*$", caddyfile, re.M)
    routed = " ".join(re.findall(r"@api path (.+)", caddyfile))
    assert "/v1/*" in routed
    assert "/ui/*" in routed  # the built-in page's files; the page itself at /kb
    assert re.search(r"handle /kb \{\s*rewrite \* /\s*import serving", caddyfile)
    assert "/metrics" not in routed
    assert "/readyz" not in routed
    upstreams = set(re.findall(r"reverse_proxy (\S+):(\d+)", caddyfile))
    upstreams |= set(re.findall(r"dynamic a (\S+) (\d+)", caddyfile))
    assert upstreams == {("serving", "8000"), ("keycloak", "8080"), ("grafana", "3000"),
                         ("open-webui", "8080")}  # fmt: skip
    assert all(host in SERVICES for host, _ in upstreams)


def test_searxng_answers_json():
    settings = yaml.safe_load((DEPLOY / "searxng" / "settings.yml").read_text())
    assert "json" in settings["search"]["formats"]
    assert settings["server"]["limiter"] is False


def test_the_shipped_word_lists_load_and_filter():
    words = DEPLOY / "search-proxy" / "words"
    settings = FilterSettings(words_file=words / "words.txt", allow_file=words / "allow.txt")
    word_filter = SensitiveFilter.from_settings(settings)
    assert word_filter.find("news about project bluebird")
    assert not word_filter.find("solar panels")
    mount = next(v for v in SERVICES["search-proxy"]["volumes"] if "words" in v)
    assert mount == "./deploy/search-proxy/words:/etc/kb/words:ro"


def test_the_keycloak_realm_has_the_clients_and_the_groups_claim():
    realm = json.loads((DEPLOY / "keycloak" / "kb-realm.json").read_text())
    clients = {client["clientId"]: client for client in realm["clients"]}
    assert set(clients) == {"kb-api", "kb-ui"}
    assert "groups" in clients["kb-ui"]["defaultClientScopes"]
    (scope,) = [s for s in realm["clientScopes"] if s["name"] == "groups"]
    (mapper,) = scope["protocolMappers"]
    assert mapper["protocolMapper"] == "oidc-group-membership-mapper"
    assert mapper["config"]["claim.name"] == "groups"
    assert {g["name"] for g in realm["groups"]} == {"kb-admins", "kb-users"}


def catalogue() -> set[str]:
    names = set()
    for metric in REGISTRY.collect():
        if metric.name.startswith("kb_"):
            names.add(metric.name)
            names.update(sample.name for sample in metric.samples)
    return names


def used_metrics(text: str) -> set[str]:
    return set(re.findall(r"\bkb_[a-z_]+", text))


def test_alerts_and_the_dashboard_use_only_metrics_that_exist():
    known = catalogue()
    known |= {f"{name}_bucket" for name in known} | {f"{name}_total" for name in known}
    alerts = (DEPLOY / "prometheus" / "alerts.yml").read_text()
    dashboard = (DEPLOY / "grafana" / "dashboards" / "kb-overview.json").read_text()
    for text in (alerts, dashboard):
        assert used_metrics(text)
        assert used_metrics(text) <= known, used_metrics(text) - known


def test_the_alert_rules_cover_what_operators_watch():
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    by_name = {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}
    assert "> 0.5" in by_name["LLMTimeToFirstTokenP99High"]["expr"]
    assert "0.99" in by_name["LLMTimeToFirstTokenP99High"]["expr"]
    assert "> 0.8" in by_name["HostMemoryAbove80Percent"]["expr"]
    assert "kb_search_engine_requests_total" in by_name["WebSearchSuccessRateLow"]["expr"]
    assert "kb_ingest_files_total" in by_name["KnowledgeBaseNotUpdated"]["expr"]
    assert "kb_ingest_backlog_files" in by_name["IngestBacklogGrowing"]["expr"]


def test_prometheus_scrapes_every_service_that_serves_metrics():
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = set()
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            targets.update(static["targets"])
        for dns in job.get("dns_sd_configs", []):
            targets.update(f"{name}:{dns['port']}" for name in dns["names"])
    ours = {"serving:8000", "ingest:9101", "search-proxy:8100", "finetune:9102"}
    assert ours <= targets
    assert {"vllm:8000", "qdrant:6333", "node-exporter:9100"} <= targets
    for target in targets - {"127.0.0.1:9090"}:
        assert target.split(":")[0] in SERVICES, target
    env = SERVICES["ingest"]["environment"]
    assert env["KB_WORKER__METRICS_PORT"] == "9101"
    assert SERVICES["finetune"]["environment"]["KB_FINETUNE_METRICS_PORT"] == "9102"
    assert "alerts.yml" in " ".join(config["rule_files"])


def test_grafana_is_provisioned_with_the_dashboard():
    provider = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/kb.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    assert f"./deploy/grafana/dashboards:{path}:ro" in SERVICES["grafana"]["volumes"]
    dashboard = json.loads((DEPLOY / "grafana/dashboards/kb-overview.json").read_text())
    assert len(dashboard["panels"]) >= 12


def test_the_image_is_multi_stage_pinned_and_non_root():
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+) AS (\S+)$", dockerfile, re.M)
    assert [name for _, name in stages] == ["base", "deps", "build", "runtime", "build-cuda",
                                            "trainer"]  # fmt: skip
    assert re.search(r"^ARG PYTHON_IMAGE=python:\d+\.\d+\.\d+-slim-\w+$", dockerfile, re.M)
    assert "USER 10001" in dockerfile
    assert "download.pytorch.org/whl/cpu" in dockerfile
    # Dependencies before the source: the source COPY lines come after the dependency install.
    assert dockerfile.index("pip install -r requirements.txt") < dockerfile.index("COPY core")
    for package in ("core", "ingest", "retrieval", "search_proxy", "serving", "finetune", "kb"):
        assert f"COPY {package} {package}" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "tests", "deploy/secrets", ".env"} <= set(ignored)
    tika = (DEPLOY / "tika" / "Dockerfile").read_text()
    assert re.search(r"^FROM apache/tika:3\.\d+\.\d+\.\d+-full$", tika, re.M)
    assert "tesseract-ocr-chi-sim" in tika


def test_the_entrypoint_turns_secret_files_into_variables(tmp_path):
    (tmp_path / "postgres_password").write_text("s3cret\n")
    env = {
        "PATH": "/usr/bin:/bin", "KB_SECRETS_DIR": str(tmp_path),
        "PGPASSWORD_FILE": str(tmp_path / "postgres_password"),
        # A setting that ends in _FILE and is not a secret stays as it is.
        "KB_SEARCH_FILTER__WORDS_FILE": "/etc/kb/words/words.txt",
    }  # fmt: skip
    script = str(DEPLOY / "docker-entrypoint.sh")
    shown = subprocess.run(
        ["sh", script, "sh", "-c", 'echo "$PGPASSWORD|$KB_SEARCH_FILTER__WORDS_FILE|${PGPASSWORD_FILE-}"'],  # noqa: E501
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert shown.stdout == "s3cret|/etc/kb/words/words.txt|\n"
    env["PGPASSWORD_FILE"] = str(tmp_path / "missing")
    failed = subprocess.run(["sh", script, "true"], env=env, capture_output=True, text=True)
    assert failed.returncode == 1
    assert "cannot be read" in failed.stderr


def test_the_secret_maker_writes_every_secret_the_compose_file_names(tmp_path):
    secrets = tmp_path / "deploy" / "secrets"
    secrets.mkdir(parents=True)
    (tmp_path / "deploy" / "searxng").mkdir()
    script = secrets / "make-secrets.sh"
    script.write_text((DEPLOY / "secrets" / "make-secrets.sh").read_text())
    subprocess.run(["sh", str(script)], check=True, capture_output=True)
    from tests.deploy.test_compose import COMPOSE

    for name, spec in COMPOSE["secrets"].items():
        written = tmp_path / Path(spec["file"])
        assert written.is_file(), name
        assert len(written.read_text()) == 48
    assert (tmp_path / "deploy/searxng/searxng.env").read_text().startswith("SEARXNG_SECRET=")
