"""deploy/: the Kubernetes path, checked as far as a machine without a cluster allows.

* deploy/z2jh/values.yaml merged over the chart's own defaults and validated against the chart's
  values.schema.yaml, as `helm install` does (both files vendored from the 4.4.0 tag);
* deploy/k8s/*.yaml validated against Kubernetes' schemas (kubernetes-validate, strict);
* deploy/image/Dockerfile installs with scripts/setup.sh and pins a single-user jupyterhub of the
  chart's hub's major version;
* course/hub/k8s_exchange.py, which keeps submissions apart where every pod has the same uid.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from autograder.grading.sandbox import SLOT_LOCKS
from course.hub import k8s_exchange
from course.hub.config import EXTENSIONS, HubSettings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "z2jh" / "chart-4.4.0"
KUBERNETES = "1.37.0"   # kubernetes-validate's newest schemas; the chart wants >= 1.28


def helm_merge(defaults, override):
    """Values merged as helm merges user values over a chart's: maps recursively, anything else
    replaced, a null deleting the key."""
    if not isinstance(defaults, dict) or not isinstance(override, dict):
        return copy.deepcopy(override)
    merged = copy.deepcopy(defaults)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load(path: Path):
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def schema():
    return load(CHART / "values.schema.yaml")


@pytest.fixture(scope="module")
def values():
    return load(DEPLOY / "z2jh" / "values.yaml")


def chart_values(values):
    return helm_merge(load(CHART / "values.yaml"), values)


def test_the_values_validate_against_the_charts_schema(schema, values):
    jsonschema.validate(chart_values(values), schema)


@pytest.mark.parametrize("bad, where", [
    ({"singleuser": {"uid": "one thousand"}}, "uid"),
    ({"singleuser": {"storage": {"extraVolumeMounts": "not a list"}}}, "extraVolumeMounts"),
    ({"hub": {"notAnOption": True}}, "notAnOption"),
])
def test_the_schema_check_refuses_wrong_values(schema, values, bad, where):
    with pytest.raises(jsonschema.ValidationError, match=where):
        jsonschema.validate(chart_values(helm_merge(values, bad)), schema)


def test_the_vendored_chart_is_4_4_0_with_jupyterhub_5():
    source = (CHART / "SOURCE.md").read_text()
    assert "tag `4.4.0`" in source and "JupyterHub 5.5.0" in source
    defaults = load(CHART / "values.yaml")
    assert defaults["hub"]["image"]["name"] == "quay.io/jupyterhub/k8s-hub"


def test_the_image_pins_a_single_user_jupyterhub_of_the_hubs_major_version():
    dockerfile = (DEPLOY / "image" / "Dockerfile").read_text()
    pinned = re.findall(r"jupyterhub==(\d+)\.(\d+)\.(\d+)", dockerfile)
    assert pinned and {major for major, _, _ in pinned} == {"5"}, pinned
    hub_version = re.search(r"JupyterHub (\d+)\.\d+\.\d+", (CHART / "SOURCE.md").read_text()).group(1)
    assert hub_version == "5"


def test_the_image_installs_with_the_tests_setup_script():
    lines = [line.strip() for line in (DEPLOY / "image" / "Dockerfile").read_text().splitlines()]
    assert "RUN bash scripts/setup.sh && rm -rf /var/lib/apt/lists/* /root/.npm" in lines
    assert re.search(r"^FROM python:3\.11\.\d+-slim-bookworm$", "\n".join(lines), re.M)
    assert (ROOT / "scripts" / "setup.sh").is_file()


def test_the_images_role_folders_are_what_course_hub_writes(tmp_path):
    done = subprocess.run([sys.executable, "-m", "course.hub.roles", "--roles", str(tmp_path / "roles"),
                           "--course-id", "autodiff", "--exchange", "/srv/nbgrader/exchange"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    import json
    for role, extensions in EXTENSIONS.items():
        config = json.loads((tmp_path / "roles" / role / "jupyter_server_config.json").read_text())
        assert config["ServerApp"]["jpserver_extensions"] == extensions
        assert "/srv/nbgrader/exchange" in (tmp_path / "roles" / role / "nbgrader_config.py").read_text()
    assert EXTENSIONS["student"]["nbgrader.server_extensions.formgrader"] is False
    assert EXTENSIONS["service"]["course.pages.formgrader"] is True
    # the hub's spawner hook points at exactly these folders
    assert "/etc/course/roles/{role}" in load(DEPLOY / "z2jh" / "values.yaml")["hub"]["extraConfig"]["01-course-roles"]


def k8s_documents():
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for index, doc in enumerate(yaml.safe_load_all(path.read_text())):
            if doc:
                yield pytest.param(doc, id=f"{path.name}:{doc['kind']}:{doc['metadata'].get('name') or doc['metadata'].get('generateName')}")


@pytest.mark.parametrize("document", list(k8s_documents()))
def test_the_kubernetes_manifests_validate(document):
    kubernetes_validate.validate(document, KUBERNETES, strict=True)


def test_a_wrong_manifest_is_refused():
    deployment = next(d.values[0] for d in k8s_documents() if d.values[0]["kind"] == "Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eight thousand"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)
    broken = copy.deepcopy(deployment)
    broken["spec"]["replicaz"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)


def test_values_and_manifests_agree(values):
    documents = {(d.values[0]["kind"], d.values[0]["metadata"].get("name")): d.values[0] for d in k8s_documents()}
    exchange = documents[("PersistentVolumeClaim", "autodiff-exchange")]
    assert exchange["spec"]["accessModes"] == ["ReadWriteMany"]
    claim = values["singleuser"]["storage"]["extraVolumes"][0]["persistentVolumeClaim"]["claimName"]
    assert claim == "autodiff-exchange"
    settings = HubSettings(course_root=ROOT, course_id="autodiff", exchange=Path("/x"), state=Path("/x"), members=[], service_user="x")
    role = values["hub"]["loadRoles"]["autodiff-instructor"]
    assert role["groups"] == [settings.instructor_group]
    assert f"access:services!service={settings.service_name}" in role["scopes"]
    assert settings.service_name in values["hub"]["services"]
    service = documents[("Service", "autodiff-course")]
    assert values["hub"]["services"]["autodiff"]["url"] == f"http://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"
    for snippet in values["hub"]["extraConfig"].values():
        compile(snippet, "extraConfig", "exec")


def test_each_pod_mounts_only_its_own_inbound_and_feedback(values):
    mounts = {m["mountPath"]: m for m in values["singleuser"]["storage"]["extraVolumeMounts"]}
    course = "/srv/nbgrader/exchange/autodiff"
    assert mounts[f"{course}/inbound"]["subPath"] == "autodiff/inbound-by-student/{username}"
    assert not mounts[f"{course}/inbound"].get("readOnly")
    assert mounts[f"{course}/feedback"]["subPath"] == "autodiff/feedback-by-student/{username}"
    assert mounts[f"{course}/feedback"]["readOnly"] and mounts[f"{course}/outbound"]["readOnly"]
    assert all("{username}" in m["subPath"] for path, m in mounts.items() if not m.get("readOnly")), \
        "a writable mount shared by all students"



# -- grading a class with several pods (grade-parallel-job.yaml) --------------------------------

JOB_NAME_LABEL = "metadata.labels['batch.kubernetes.io/job-name']"


def k8s_document(file: str, kind: str):
    [document] = [d for d in yaml.safe_load_all((DEPLOY / "k8s" / file).read_text()) if d and d["kind"] == kind]
    return document


@pytest.fixture(scope="module")
def parallel_job():
    return k8s_document("grade-parallel-job.yaml", "Job")


@pytest.fixture(scope="module")
def grade_job():
    return k8s_document("grade-job.yaml", "Job")


def run_id_variables(container) -> list[str]:
    """The variables `course grade ... --run-id $VAR` takes its run id from, one per `course grade`."""
    script = " ".join(container.get("command", []) + container.get("args", []))
    grades = re.findall(r"course grade\b([^;&|\n]*)", script)
    assert grades, f"{container['name']} does not run `course grade`: {script}"
    found = []
    for options in grades:
        match = re.search(r"""--run-id[= ]+["']?\$\{?(\w+)\}?["']?(?:\s|$)""", options)
        assert match, f"`course grade{options}` has no --run-id $VARIABLE"
        found.append(match.group(1))
    return found


def test_the_parallel_job_is_indexed_with_several_pods(parallel_job):
    spec = parallel_job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["parallelism"] == spec["completions"] > 1
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    # retried per index, a bounded number of times; a course error (exit 2) fails the Job at once
    assert 0 < spec["backoffLimitPerIndex"] <= 3
    rules = spec["podFailurePolicy"]["rules"]
    assert any(r["action"] == "FailJob" and r["onExitCodes"]["values"] == [2] for r in rules if "onExitCodes" in r)
    assert "name" not in parallel_job["metadata"] and parallel_job["metadata"]["generateName"], \
        "a fixed name would make every Job the same run"


def test_each_pod_grades_in_the_run_named_after_its_job(parallel_job):
    containers = parallel_job["spec"]["template"]["spec"]["containers"]
    assert containers
    for container in containers:
        env = {variable["name"]: variable for variable in container["env"]}
        for name in run_id_variables(container):
            assert "value" not in env[name], f"{name} is fixed: every Job would share one run"
            assert env[name]["valueFrom"]["fieldRef"]["fieldPath"] == JOB_NAME_LABEL


def test_the_run_id_check_fails_on_a_grade_without_one(parallel_job):
    container = copy.deepcopy(parallel_job["spec"]["template"]["spec"]["containers"][0])
    container["command"] = ["sh", "-c", 'course grade "$ASSIGNMENT" --run-id "$RUN_ID"; course grade "$ASSIGNMENT"']
    with pytest.raises(AssertionError, match="no --run-id"):
        run_id_variables(container)
    container["command"] = ["sh", "-c", "course collect A"]
    with pytest.raises(AssertionError, match="does not run `course grade`"):
        run_id_variables(container)
    assert run_id_variables({"name": "x", "command": ["course", "grade", "A", "--run-id", "${RUN}"]}) == ["RUN"]


def test_the_parallel_job_uses_the_gradebook_and_the_course_volume_of_the_one_pod_job(parallel_job, grade_job):
    single = grade_job["spec"]["template"]["spec"]
    parallel = parallel_job["spec"]["template"]["spec"]

    def db_url(container):
        [variable] = [v for v in container["env"] if v["name"] == "AUTODIFF_DB_URL"]
        return variable["valueFrom"]["secretKeyRef"]

    secret = db_url(single["containers"][0])
    assert secret == {"name": "autodiff-gradebook", "key": "AUTODIFF_DB_URL"}
    assert k8s_document("postgres.yaml", "Secret")["metadata"]["name"] == secret["name"]
    assert "AUTODIFF_DB_URL" in k8s_document("postgres.yaml", "Secret")["stringData"]
    assert all(db_url(container) == secret for container in parallel["containers"])

    def claims(pod):
        return {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v}

    def mounts(container, pod):
        return {m["mountPath"]: claims(pod).get(m["name"]) for m in container["volumeMounts"]}

    for container in parallel["containers"]:
        assert mounts(single["containers"][0], single).items() <= mounts(container, parallel).items()
        assert mounts(container, parallel)["/srv/course"] == "autodiff-course"
    volumes = {d["metadata"]["name"]: d for d in yaml.safe_load_all((DEPLOY / "k8s" / "volumes.yaml").read_text())}
    assert volumes["autodiff-course"]["spec"]["accessModes"] == ["ReadWriteMany"], \
        "grading pods on several nodes mount the course volume"
    # the gradebook lets the grading pods in
    policy = k8s_document("postgres.yaml", "NetworkPolicy")
    allowed = [peer["podSelector"]["matchLabels"] for rule in policy["spec"]["ingress"] for peer in rule["from"]]
    labels = parallel_job["spec"]["template"]["metadata"]["labels"]
    assert any(selector.items() <= labels.items() for selector in allowed)


def test_the_parallel_job_has_the_sandboxs_security_context(parallel_job, grade_job):
    [single] = grade_job["spec"]["template"]["spec"]["containers"]
    context = single["securityContext"]
    assert context["runAsUser"] == 0 and "SYS_ADMIN" in context["capabilities"]["add"]
    assert context["seccompProfile"] == {"type": "Unconfined"}
    for container in parallel_job["spec"]["template"]["spec"]["containers"]:
        ours = container["securityContext"]
        # the same, plus AppArmor unconfined (the runtime's default profile forbids bubblewrap's mounts)
        assert {k: v for k, v in ours.items() if k != "appArmorProfile"} == \
            {k: v for k, v in context.items() if k != "appArmorProfile"}
        assert ours["appArmorProfile"] == context.get("appArmorProfile", {"type": "Unconfined"})
        assert container["resources"]["limits"]["cpu"] and container["resources"]["limits"]["memory"]


def test_the_parallel_pods_prefer_different_nodes_and_lock_slots_per_node(parallel_job):
    pod = parallel_job["spec"]["template"]["spec"]
    labels = parallel_job["spec"]["template"]["metadata"]["labels"]
    spread = [c for c in pod.get("topologySpreadConstraints", []) if c["topologyKey"] == "kubernetes.io/hostname"]
    anti = pod.get("affinity", {}).get("podAntiAffinity", {}).get("preferredDuringSchedulingIgnoredDuringExecution", [])
    assert any(c["labelSelector"]["matchLabels"].items() <= labels.items() for c in spread) or \
        any(t["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname" for t in anti)
    # a pod's /run is its own: the node's, so that two pods on one node never share a slot's user id
    slots = [v for v in pod["volumes"] if v.get("hostPath", {}).get("path") == str(SLOT_LOCKS)]
    assert slots
    for container in pod["containers"]:
        assert {"name": slots[0]["name"], "mountPath": str(SLOT_LOCKS)} in container["volumeMounts"]


# -- the per-student exchange bridge (real files) ------------------------------------------------

def _submission(folder: Path, name: str, notebook: str = "{}") -> Path:
    (folder / name).mkdir(parents=True)
    (folder / name / "01_derivatives.ipynb").write_text(notebook)
    (folder / name / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
    return folder / name


def test_gather_trusts_the_students_folder_not_the_name(tmp_path):
    k8s_exchange.prepare(tmp_path, "autodiff", ["alice", "bob"])
    per = tmp_path / "autodiff" / "inbound-by-student"
    _submission(per / "alice", "alice+01_derivatives+2026-12-01 10:00:00.000000 UTC")
    _submission(per / "bob", "bob+01_derivatives+2026-12-01 10:05:00.000000 UTC")
    _submission(per / "bob", "alice+01_derivatives+2026-12-01 10:09:00.000000 UTC", notebook="forged")  # bob posing as alice
    (per / "bob" / "bob+01_derivatives+2026-12-01 10:07:00.000000 UTC").symlink_to(per / "alice")
    gathered, refused = k8s_exchange.gather(tmp_path, "autodiff")
    inbound = sorted(p.name for p in (tmp_path / "autodiff" / "inbound").iterdir())
    assert inbound == ["alice+01_derivatives+2026-12-01 10:00:00.000000 UTC", "bob+01_derivatives+2026-12-01 10:05:00.000000 UTC"]
    assert len(gathered) == 2 and len(refused) == 2, refused
    assert any("not a submission of bob" in line for line in refused)
    assert any("not a folder" in line for line in refused)
    assert k8s_exchange.gather(tmp_path, "autodiff") == ([], refused)     # nothing twice


def test_scatter_gives_each_student_only_their_feedback(tmp_path):
    from nbgrader.utils import notebook_hash

    exchange, course = tmp_path / "exchange", tmp_path / "course"
    k8s_exchange.prepare(exchange, "autodiff", ["alice", "bob"])
    names = {}
    for student in ("alice", "bob"):
        folder = course / "feedback" / student / "01_derivatives"
        folder.mkdir(parents=True)
        secret = f"secret-of-{student}"
        (folder / "submission_secret.txt").write_text(secret)
        (folder / "01_derivatives.html").write_text(f"feedback for {student}")
        names[student] = f"{notebook_hash(secret=secret, notebook_id='01_derivatives')}.html"
        (exchange / "autodiff" / "feedback" / names[student]).write_text(f"feedback for {student}")
    copied = k8s_exchange.scatter(exchange, "autodiff", course)
    assert len(copied) == 2
    for student in ("alice", "bob"):
        own = exchange / "autodiff" / "feedback-by-student" / student
        assert [p.name for p in own.iterdir()] == [names[student]]
        assert (own / names[student]).read_text() == f"feedback for {student}"


def test_the_k8s_exchange_command_reports_refusals(tmp_path):
    per = tmp_path / "autodiff" / "inbound-by-student" / "bob"
    _submission(per, "alice+01_derivatives+2026-12-01 10:09:00.000000 UTC")
    done = subprocess.run([sys.executable, "-m", "course.hub.k8s_exchange", "gather", "--exchange", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, env=dict(os.environ))
    assert done.returncode == 1
    assert "refused: bob/alice+01_derivatives" in done.stderr
