"""The application layer: one module per use case, each a set of functions over ``Backends``
(the ports one world provides, built by ``autolabel.bootstrap``).

| module | use case |
|---|---|
| ``datasets`` | create datasets; add files, uploads and stored blobs as inputs; list, read, delete them |
| ``models`` | shipped and registered models; registering one checks its ONNX file against its spec |
| ``tasks`` | labeling tasks: create, list, rename, change reviewers, rethreshold, delete, summary |
| ``runs`` | a task's run: one lifecycle (request → start → batches → finalize) for both worlds |
| ``review`` | a reviewer's queue: next item (a lease), accept / reject / edit, progress, bulk accept |
| ``input_manager`` | annotations filtered by task, labeler, status and concept; labels added and removed |
| ``versions`` | immutable, numbered snapshots of a task's SUCCESS annotations |
| ``exports`` | COCO and YOLO |
| ``previews`` | inputs drawn with their predictions by band (the demo) |
| ``users`` | API users and their tokens; who a token belongs to |

Who may do what is decided here, once (``access``); what callers see of the records is
``views``. Entry points — the CLI, the API's routes, the Lambda handlers, the demo — parse their
input, call one of these functions and present the result; none of them touches a port.
"""
