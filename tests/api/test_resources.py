"""Datasets, models, tasks, versions, exports and the input manager over HTTP."""

from __future__ import annotations

import base64
import http.client
import json
import shutil
import threading
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from autolabel.app import transfers
from autolabel.app.input_manager import every_annotation
from autolabel.app.models import shipped_models_dir
from autolabel.app.review import queue_of
from autolabel.domain.models import ReviewState
from autolabel.exports.writer import unzip_files
from autolabel.ports import BLOB_PATH, AnnotationQuery
from tests.api.conftest import Client, Reply, Served, World, download, record_run, seed_task, snapshot
from tests.conftest import sample


def pages(client: Client, path: str, limit: int) -> list[list[str]]:
    """Follow the cursor to the end; the ids of each page."""
    found: list[list[str]] = []
    cursor = None
    while True:
        separator = "&" if "?" in path else "?"
        url = f"{path}{separator}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        reply = client.get(url)
        assert reply.status == 200, reply
        found.append([item["id"] for item in reply.body["items"]])
        cursor = reply.body["cursor"]
        if cursor is None:
            return found


def test_datasets_uploads_registration_paging_and_deletion(world: World) -> None:
    root = world.client("root")
    for name in ("b-set", "a-set", "c-set"):
        assert root.post("/datasets", {"name": name}).status == 201
    assert [len(p) for p in pages(root, "/datasets", 2)] == [2, 1]

    photos = [sample("chelsea"), sample("coffee"), sample("astronaut")]
    files = [{"filename": p.name, "content_base64": base64.b64encode(p.read_bytes()).decode()} for p in photos]
    reply = root.post("/datasets/a-set/inputs", {"files": files})
    assert reply.status == 201 and [i["source"] for i in reply.body["items"]] == [p.name for p in photos]
    # The same bytes again: the same inputs, nothing duplicated.
    assert [i["id"] for i in root.post("/datasets/a-set/inputs", {"files": files[:1]}).body["items"]] == [
        reply.body["items"][0]["id"]
    ]

    # A blob put in the store directly (as an S3 upload would be), registered by its key.
    rocket = sample("rocket")
    world.backends.blobs.put("incoming/rocket.jpg", rocket.read_bytes())
    registered = root.post("/datasets/a-set/inputs/register", {"keys": ["incoming/rocket.jpg"]})
    assert registered.status == 201 and registered.body["items"][0]["source"] == "incoming/rocket.jpg"

    listed = pages(root, "/datasets/a-set/inputs", 3)
    assert [len(p) for p in listed] == [3, 1]
    ids_ = [i for p in listed for i in p]
    first_key = world.backends.records.get_input(ids_[0]).blob_key
    assert world.backends.blobs.exists(first_key)
    deleted = root.delete(f"/datasets/a-set/inputs/{ids_[0]}")
    assert deleted.status == 200 and deleted.body == {"deleted": [ids_[0]]}
    assert not world.backends.blobs.exists(first_key)  # uploaded bytes go with the input
    registered_id = registered.body["items"][0]["id"]
    assert root.post("/inputs/delete", {"input_ids": [registered_id]}).status == 200
    assert world.backends.blobs.exists("incoming/rocket.jpg")  # a registered blob is not ours to delete
    ids_.remove(registered_id)
    assert [i for p in pages(root, "/datasets/a-set/inputs", 10) for i in p] == ids_[1:]
    assert root.delete(f"/datasets/a-set/inputs/{ids_[0]}").status == 404


def test_models_list_with_concepts_and_register_by_key(world: World) -> None:
    root = world.client("root")
    models = {m["id"]: m for m in world.client("alice").get("/models").body["items"]}
    assert {"cat", "person", "motorcycle"} <= set(models["ssd-mobilenet-v2-coco"]["labels"])
    # A big ONNX file goes to the store directly; registering names its key.
    folder = shipped_models_dir() / "efficientnet_lite0_imagenet"
    spec = json.loads((folder / "spec.json").read_text())
    labels = json.loads((folder / spec.pop("labels_file")).read_text())
    spec["decoder"]["labels"] = labels
    spec["id"] = "my-classifier"
    target = world.home / "blobs" / "incoming" / "classifier.onnx"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / "model.onnx", target)
    reply = root.post("/models", {"spec": spec, "onnx_key": "incoming/classifier.onnx"})
    assert reply.status == 201, reply
    assert reply.body["id"] == "my-classifier" and len(reply.body["labels"]) == 1000
    listed = {m["id"] for m in root.get("/models").body["items"]}
    assert "my-classifier" in listed
    assert root.post("/models", {"spec": spec, "onnx_key": "incoming/classifier.onnx"}).status == 409
    # A spec naming an output the file does not have is refused before anything is stored.
    spec["id"], spec["decoder"]["output"] = "mismatched", "no_such_output"
    before = snapshot(world)
    reply = root.post("/models", {"spec": spec, "onnx_key": "incoming/classifier.onnx"})
    assert reply.status == 422 and "no output(s) no_such_output" in reply.body["message"]
    assert snapshot(world) == before


def test_task_detail_and_delete_with_queues(world: World) -> None:
    task, items = seed_task(world)
    root = world.client("root")
    detail = root.get(f"/tasks/{task.id}").body
    summary = detail["summary"]
    assert detail["task"]["name"] == "t" and summary["status"] == "Pending"
    assert summary["review_items"] == len(items) and summary["percent_reviewed"] == 0.0
    assert summary["predictions_approved"] == 2 and summary["labeled_by"] == {"ssd-mobilenet-v2-coco@3": 2}
    assert root.get("/tasks/t").body == detail  # by name too
    renamed = root.patch(f"/tasks/{task.id}", {"name": "renamed"})
    assert renamed.status == 200 and root.get("/tasks/renamed").status == 200
    queues = [queue_of(world.backends, task, r) for r in ("alice", "bob")]
    assert all(world.backends.queues.exists(q) for q in queues)
    deleted = root.finished(root.delete(f"/tasks/{task.id}"))
    assert deleted["state"] == "succeeded" and deleted["result"] == {"deleted": task.id, "name": "renamed"}
    assert not any(world.backends.queues.exists(q) for q in queues)
    assert root.get(f"/tasks/{task.id}").status == 404
    assert world.backends.records.review_items(task.id) == []


def test_a_run_needs_inputs(world: World) -> None:
    root = world.client("root")
    root.post("/datasets", {"name": "empty"})
    body = {"name": "e", "dataset": "empty", "model": "ssd-mobilenet-v2-coco", "concepts": ["cat"],
            "thresholds": {"upper": 0.9, "lower": 0.4}, "reviewers": [{"name": "alice"}]}  # fmt: skip
    assert root.post("/tasks", body).status == 201
    reply = root.post("/tasks/e/runs")
    assert reply.status == 422 and "no inputs" in reply.body["message"]
    assert root.get("/tasks/e").body["summary"]["status"] == "Pending"


def snapshot_of(world: World, path: str) -> Any:
    """The snapshot behind a version's link, read as `autolabel serve` would answer the link."""
    reply = world.client("root").get(path)
    assert reply.status == 200, reply
    link = urlsplit(reply.body["url"])
    query = {k: v[-1] for k, v in parse_qs(link.query).items()}
    key = unquote(link.path[len(BLOB_PATH) :])
    return json.loads(transfers.read_signed(world.backends, key, query["expires"], query["sig"]).read_bytes())


def test_versions_are_numbered_immutable_snapshots(world: World) -> None:
    task, items = seed_task(world, reviewers=("alice",))
    root = world.client("root")
    first = root.finished(root.post(f"/tasks/{task.id}/versions"))
    assert first["result"]["number"] == 1 and first["result"]["annotations"] == 2
    snapshot_1 = snapshot_of(world, f"/tasks/{task.id}/versions/1")
    assert snapshot_1["version"] == 1 and len(snapshot_1["annotations"]) == 2
    for item in items:
        world.client("alice").post(f"/review/items/{item.id}/accept")
    second = root.finished(root.post(f"/tasks/{task.id}/versions"))["result"]
    assert second["number"] == 2 and second["annotations"] > 2
    assert snapshot_of(world, f"/tasks/{task.id}/versions/1") == snapshot_1  # unchanged by later decisions
    assert all(a["status"] == "SUCCESS" for a in snapshot_of(world, f"/tasks/{task.id}/versions/2")["annotations"])
    assert [v["number"] for v in root.get(f"/tasks/{task.id}/versions").body["items"]] == [1, 2]


def test_export_coco_and_yolo(world: World) -> None:
    root = world.client("root")
    root.post("/datasets", {"name": "pics"})
    photo = sample("chelsea")
    upload = {"files": [{"filename": photo.name, "content_base64": base64.b64encode(photo.read_bytes()).decode()}]}
    input_id = root.post("/datasets/pics/inputs", upload).body["items"][0]["id"]
    body = {"name": "x", "dataset": "pics", "model": "ssd-mobilenet-v2-coco", "concepts": ["cat"],
            "thresholds": {"upper": 0.9, "lower": 0.4}, "reviewers": [{"name": "alice"}]}  # fmt: skip
    task_id = root.post("/tasks", body).body["id"]
    world.backends.records.add_task_inputs(task_id, [input_id])
    box = {"x": 10, "y": 20, "w": 100, "h": 50}
    assert (
        root.post(f"/tasks/{task_id}/annotations", {"input_ids": [input_id], "concept": "cat", "box": box}).status
        == 201
    )
    exported = root.finished(root.post(f"/tasks/{task_id}/exports", {"format": "coco"}))
    assert exported["result"] == {"format": "coco", "file": "coco.json", "files": 1, "images": 1, "annotations": 1}
    coco = json.loads(download(exported["result_url"], world))
    assert [c["name"] for c in coco["categories"]] == ["cat"]
    assert [a["bbox"] for a in coco["annotations"]] == [[10.0, 20.0, 100.0, 50.0]]
    assert [(i["width"], i["height"]) for i in coco["images"]] == [(451, 300)]  # recorded at upload
    yolo = root.finished(root.post(f"/tasks/{task_id}/exports", {"format": "yolo"}))
    files = unzip_files(download(yolo["result_url"], world))
    assert files[f"labels/{input_id}.txt"].startswith(b"0 ") and "data.yaml" in files


def test_input_manager_filters_with_and_or(world: World) -> None:
    task, items = seed_task(world, reviewers=("alice",))
    world.client("alice").post(f"/review/items/{items[0].id}/reject")
    root = world.client("root")

    def ids_for(query: str) -> set[str]:
        return {i for p in pages(root, f"/annotations?task={task.id}&{query}", 2) for i in p}

    everything = every_annotation(world.backends, AnnotationQuery(task_id=task.id))
    by_alice = {a.id for a in everything if a.labeled_by.display == "alice"}
    success = {a.id for a in everything if a.status.value == "SUCCESS"}
    assert by_alice and success
    assert ids_for("labeler=alice") == by_alice
    assert ids_for("labeler=alice&status=SUCCESS") == by_alice & success
    assert ids_for("labeler=alice&status=SUCCESS&match=any") == by_alice | success
    assert ids_for("status=AWAITING_REVIEW,REJECTED") == {
        a.id for a in everything if a.status.value in ("AWAITING_REVIEW", "REJECTED")
    }
    assert ids_for("concept=dog") == set()


def test_input_manager_adds_and_removes_labels_and_deletes_inputs(world: World) -> None:
    task, items = seed_task(world, reviewers=("alice",))
    root = world.client("root")
    chosen = [items[0].input_id, items[1].input_id]
    added = root.post(f"/tasks/{task.id}/annotations", {"input_ids": chosen, "concept": "dog"})
    assert added.status == 201 and {a["input_id"] for a in added.body["items"]} == set(chosen)
    assert all(
        a["labeled_by"]["id"] == "root" and a["geometry"]["type"] == "classification" for a in added.body["items"]
    )
    # Adding the same label again is idempotent.
    again = root.post(f"/tasks/{task.id}/annotations", {"input_ids": chosen, "concept": "dog"}).body["items"]
    assert [a["id"] for a in again] == [a["id"] for a in added.body["items"]]
    first = added.body["items"][0]
    removed = root.post(
        f"/tasks/{task.id}/annotations/delete", {"annotation_ids": [first["id"]], "input_ids": [first["input_id"]]}
    )
    assert removed.body == {"deleted": 1}
    assert len(root.get(f"/annotations?task={task.id}&concept=dog").body["items"]) == 1

    gone = root.post("/inputs/delete", {"input_ids": [items[0].input_id]})
    assert gone.status == 200 and gone.body == {"deleted": [items[0].input_id]}
    remaining = root.get(f"/annotations?task={task.id}").body["items"]
    assert remaining and all(a["input_id"] != items[0].input_id for a in remaining)
    assert all(i.input_id != items[0].input_id for i in world.backends.records.review_items(task.id))
    # The deleted input's queued item is skipped, never handed out.
    handed = []
    while (reply := world.client("alice").post(f"/tasks/{task.id}/review/next").body["item"]) is not None:
        handed.append(reply["item"]["input_id"])
        world.client("alice").post(f"/review/items/{reply['item']['id']}/accept")
    assert items[0].input_id not in handed and len(handed) == len(items) - 1
    assert all(i.state == ReviewState.DECIDED for i in world.backends.records.review_items(task.id))


def test_input_bytes_for_admins_and_the_items_reviewer_only(world: World, served: Served) -> None:
    root = world.client("root")
    root.post("/datasets", {"name": "pics"})
    photo = sample("coffee")
    upload = {"files": [{"filename": photo.name, "content_base64": base64.b64encode(photo.read_bytes()).decode()}]}
    uploaded = root.post("/datasets/pics/inputs", upload).body["items"][0]
    body = {"name": "p", "dataset": "pics", "model": "ssd-mobilenet-v2-coco", "concepts": ["cat"],
            "thresholds": {"upper": 0.9, "lower": 0.4}, "reviewers": [{"name": "alice"}, {"name": "bob"}]}  # fmt: skip
    task = world.backends.records.get_task(root.post("/tasks", body).body["id"])
    inputs = [world.backends.records.get_input(uploaded["id"])]
    [item] = record_run(world, task, inputs, [[0.5]])
    other = "bob" if item.reviewer == "alice" else "alice"

    def fetch(user: str, path: str = f"/inputs/{uploaded['id']}/content") -> tuple[int, bytes]:
        """GET with the token, then (like a browser) the redirect's target without it."""
        connection = http.client.HTTPConnection(served.host, served.port, timeout=30)
        connection.request("GET", path, headers={"Authorization": f"Bearer {world.tokens[user]}"})
        response = connection.getresponse()
        data = response.read()
        connection.close()
        if response.status != 307:
            return response.status, data
        location = urlsplit(response.getheader("Location") or "")
        assert (location.hostname, location.port) == (served.host, served.port)
        connection = http.client.HTTPConnection(served.host, served.port, timeout=30)
        connection.request("GET", f"{location.path}?{location.query}")
        target = connection.getresponse()
        data = target.read()
        connection.close()
        return target.status, data

    assert fetch(item.reviewer) == (200, photo.read_bytes())
    assert fetch("root") == (200, photo.read_bytes())
    assert fetch(other)[0] == 403
    assert fetch("eve")[0] == 403
    link = root.get(f"/inputs/{uploaded['id']}/url").body
    assert link["url"].startswith("http://") and "/blobs/datasets/" in link["url"] and link["expires_at"]
    assert world.client(other).get(f"/inputs/{uploaded['id']}/url").status == 403
    # The link is the permission: a changed key or signature is refused.
    forged = urlsplit(link["url"])
    connection = http.client.HTTPConnection(served.host, served.port, timeout=30)
    connection.request("GET", f"{forged.path}x?{forged.query}")
    assert connection.getresponse().status == 403
    connection.close()


def test_concurrent_versions_get_distinct_numbers(world: World, served: Served) -> None:
    task, _ = seed_task(world, reviewers=("alice",))
    barrier = threading.Barrier(4)
    numbers: list[int] = []

    def snapshot_once() -> None:
        barrier.wait()
        reply = served.request("POST", f"/tasks/{task.id}/versions", None, world.tokens["root"])
        numbers.append(world.client("root").finished(Reply(reply.status, reply.body))["result"]["number"])

    threads = [threading.Thread(target=snapshot_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == [1, 2, 3, 4]
    stored = world.backends.records.dataset_versions(task.id)
    assert all(world.backends.blobs.exists(v.blob_key) for v in stored) and len(stored) == 4


def test_deleting_a_task_deletes_its_version_snapshots(world: World) -> None:
    task, _ = seed_task(world)
    root = world.client("root")
    assert root.finished(root.post(f"/tasks/{task.id}/versions"))["state"] == "succeeded"
    (version,) = world.backends.records.dataset_versions(task.id)
    assert world.backends.blobs.exists(version.blob_key)
    assert root.finished(root.delete(f"/tasks/{task.id}"))["state"] == "succeeded"
    assert not world.backends.blobs.exists(version.blob_key)  # no snapshot outlives its task


def put(url: str, headers: dict[str, str], data: bytes) -> int:
    """A client's PUT to an upload link: no bearer token, the link is the permission."""
    target = urlsplit(url)
    connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=60)
    connection.request("PUT", f"{target.path}?{target.query}", body=data, headers=headers)
    status = connection.getresponse().status
    connection.close()
    return status


def test_files_larger_than_a_request_go_by_upload_links(world: World, served: Served) -> None:
    token = world.tokens["root"]
    for name in ("pics", "others"):
        assert served.request("POST", "/datasets", {"name": name}, token).status == 201
    photo = sample("coffee").read_bytes() * 8  # a file the inline route would still take, sent the other way
    ticket = served.request("POST", "/datasets/pics/uploads", {"filename": "big.jpg", "size_bytes": len(photo)}, token)
    assert ticket.status == 201, ticket
    body = ticket.body
    assert body["key"].startswith("datasets/") and "/uploads/" in body["key"] and body["method"] == "PUT"
    assert body["headers"] == {"Content-Type": "image/jpeg"}
    forged = body["url"].replace("/uploads/", "/uploads/x")
    assert put(forged, body["headers"], photo) == 403  # the signature covers the key
    assert put(body["url"], body["headers"], photo) == 200
    registered = served.request("POST", "/datasets/pics/inputs/register", {"keys": [body["key"]]}, token)
    assert registered.status == 201 and registered.body["items"][0]["size_bytes"] == len(photo)
    # Another dataset may not take this dataset's bytes by naming their key.
    stolen = served.request("POST", "/datasets/others/inputs/register", {"keys": [body["key"]]}, token)
    assert stolen.status == 403 and stolen.body["error"] == "forbidden"
    # Over the limit: refused before any byte moves, with the limit named.
    huge = served.request("POST", "/datasets/pics/uploads", {"filename": "x.png", "size_bytes": 10**12}, token)
    assert huge.status == 413 and huge.body["details"]["limit"] == transfers.MAX_INPUT_BYTES
    assert served.request("POST", "/datasets/pics/uploads", {"filename": "x.exe", "size_bytes": 9}, token).status == 422


def test_a_model_goes_by_upload_link_then_registers_by_key(world: World, served: Served) -> None:
    token = world.tokens["root"]
    folder = shipped_models_dir() / "efficientnet_lite0_imagenet"
    onnx = (folder / "model.onnx").read_bytes()  # 18 MB: over the 8 MiB a request may carry
    spec = json.loads((folder / "spec.json").read_text())
    spec["decoder"]["labels"] = json.loads((folder / spec.pop("labels_file")).read_text())
    spec["id"] = "uploaded-classifier"
    ticket = served.request("POST", "/models/uploads", {"size_bytes": len(onnx)}, token).body
    assert put(ticket["url"], ticket["headers"], onnx) == 200
    registered = served.request("POST", "/models", {"spec": spec, "onnx_key": ticket["key"]}, token)
    assert registered.status == 201 and len(registered.body["labels"]) == 1000
