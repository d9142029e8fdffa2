"""The two invisible characters around text that a check quotes from the student's own code.

A check's message may quote an exception message raised by student code, which may hold anything.
The checks (in the kernel, autograder/checks/messages.py) put such text between START and END; the
grader (autograder/grading/feedback_scrub.py) shows the rest of the message and leaves that part out.
This module is all the two sides share, so the grader never imports the in-kernel checks.
"""

START, END = "\u2062", "\u2063"
