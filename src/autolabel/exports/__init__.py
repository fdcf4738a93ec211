"""Exports: turn a task's annotations into standard dataset formats and previews.

``formats`` builds COCO / YOLO documents as plain values (no I/O), ``writer`` puts a file map on
disk without letting any path escape the output folder, and ``preview`` draws annotations on an
image for people to eyeball.
"""
