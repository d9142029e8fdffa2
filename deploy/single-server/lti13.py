"""LMS login (LTI 1.3) for `course hub` on one server: pass it with --extra-config.

    sudo .venv/bin/course hub --roster roster.csv --extra-config deploy/single-server/lti13.py

Loaded at the end of the jupyterhub_config.py that `course hub` writes, so it replaces PAM.
Register the hub as an LTI 1.3 tool in the LMS (Canvas: Developer Keys > LTI Key; Moodle: External
tool > Configure a tool manually) with

    redirect / launch URL   https://<hub>/hub/lti13/oauth_callback
    initiation login URL    https://<hub>/hub/lti13/oauth_login
    public keyset (JWKS)    https://<hub>/hub/lti13/jwks

and copy the LMS's values into the environment of `course hub` (or edit them here).
Hub user names are the LMS's login ids (username_key below); on one server each must still be a
Unix user of the roster, with the same name, so that the spawner can run their server as them.
"""

import os

c = get_config()  # noqa: F821

c.JupyterHub.authenticator_class = "ltiauthenticator.lti13.auth.LTI13Authenticator"
c.LTI13Authenticator.issuer = os.environ.get("LTI13_ISSUER", "https://lms.example.org")
c.LTI13Authenticator.client_id = [os.environ.get("LTI13_CLIENT_ID", "CHANGE-ME")]
c.LTI13Authenticator.authorize_url = os.environ.get("LTI13_AUTHORIZE_URL", "https://lms.example.org/api/lti/authorize_redirect")
c.LTI13Authenticator.jwks_endpoint = os.environ.get("LTI13_JWKS_URL", "https://lms.example.org/api/lti/security/jwks")
# the LMS login id (Canvas: custom variable $User.username mapped into a custom claim, or
# "https://purl.imsglobal.org/spec/lti/claim/ext" user_username; Moodle: "preferred_username")
c.LTI13Authenticator.username_key = os.environ.get("LTI13_USERNAME_KEY", "preferred_username")
# The roster still decides who is a student or an instructor (groups from course hub);
# allowed_users from the roster stays in force.
