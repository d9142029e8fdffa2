"""autograder.grading: what runs in the grader, outside the students' kernels.

- ``engine``: the grading engine behind ``course grade`` (workers, queue, records);
- ``work_queue``: which submissions a grading process takes (one machine, or many through PostgreSQL);
- ``executor`` and ``sandbox``: one notebook run in a sandboxed kernel (bubblewrap, limits);
- ``kernel_start``: the one module here that runs in the kernel: how the sandboxed kernel starts;
- ``sandboxed_execute``: the same executor as nbgrader's Execute step, for ``nbgrader autograde``;
- ``intake`` and ``student_ids``: reading submitted files and ids without trusting them;
- ``lock_to_source`` and ``tamper_scan``: nbgrader preprocessors that keep the tests the source's;
- ``sanitize`` and ``feedback_scrub``: what a student wrote made inert, hidden tests kept out of
  feedback pages;
- ``nbgrader_reuse``: nbgrader's gradebook connections reused within a batch.

Nothing here imports ``autograder.checks``, whose import takes the in-kernel snapshot.
"""
