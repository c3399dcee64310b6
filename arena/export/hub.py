"""Publishing an export folder to the Hugging Face Hub (a dataset repository)."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["check_hub_args", "push_folder"]

# owner/name as the Hub accepts them: letters, digits, '-', '_', '.'; no leading/trailing '-' or '.'.
_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
_REPO_ID = re.compile(rf"^{_PART}/{_PART}$")


def check_hub_args(repo_id: str | None, token: str | None, *, token_given: bool) -> None:
    """Fail before exporting when the push could not work.

    ``token_given``: a token was passed on the command line (rather than found in HF_TOKEN);
    passing one without a repository is almost certainly a mistake.
    """
    if repo_id is None:
        if token_given:
            raise ValueError("--token is only used with --push-to-hub REPO")
        return
    if not _REPO_ID.match(repo_id) or ".." in repo_id or "--" in repo_id:
        raise ValueError(f"--push-to-hub: {repo_id!r} is not a Hub repository id; use OWNER/NAME, "
                         "e.g. my-lab/kazarena-votes")
    if not token:
        raise ValueError("--push-to-hub needs a write token: pass --token or set HF_TOKEN")
    if not token.startswith("hf_") or len(token) < 20:
        raise ValueError("--token does not look like a Hugging Face access token (they start with 'hf_')")
    try:
        import huggingface_hub  # noqa: F401
    except ImportError:
        raise ValueError("--push-to-hub needs the huggingface_hub package: pip install huggingface_hub") from None


def push_folder(out_dir: Path, repo_id: str, token: str, *, private: bool = True) -> str:
    """Create the dataset repository if needed and upload the folder in one commit; returns its URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    repo = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    api.upload_folder(folder_path=str(out_dir), repo_id=repo_id, repo_type="dataset",
                      commit_message="kazarena export", allow_patterns=["README.md", "*/train.*"])
    return str(repo)
