"""promote: make the challenger the champion, in one command (`make promote`).

    python -m ops.promote [--by NAME]

Moves the `champion` alias of params.yaml's register.model_name to the version `challenger` names,
removes the `challenger` alias, and tags that version with who promoted it, when, and which version
was champion before. Not a pipeline stage: it decides nothing, a person does, after comparing both
versions' live errors. Running servers serve the new champion at their next alias poll, or at once
after `POST /admin/reload`.
"""

from __future__ import annotations

import argparse
import getpass
from datetime import UTC, datetime

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from housing.names import CHALLENGER, CHAMPION
from stages.errors import StageError, exits_cleanly
from stages.params import RegisterParams, load_params
from stages.tracking import tracking_uri


def current_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # a container user with no name
        return "unknown"


@exits_cleanly
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--by", default=current_user(), help="who promotes (default: the current user)")
    args = parser.parse_args()
    params = load_params("register", RegisterParams)
    name = params.model_name

    client = MlflowClient(tracking_uri())
    try:
        aliases = client.get_registered_model(name).aliases
    except MlflowException as error:
        raise StageError(f"cannot read {name} from the registry at {tracking_uri()}: {error.message}") from None
    challenger = aliases.get(CHALLENGER)
    if challenger is None:
        raise StageError(
            f"{name} has no {CHALLENGER}: register keeps a new version that does not beat the champion"
            f" as {CHALLENGER}, and none is waiting (aliases: {dict(aliases) or 'none'})"
        )
    previous = aliases.get(CHAMPION)

    tags = {
        "promoted_by": args.by,
        "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "previous_champion_version": str(previous) if previous is not None else "none",
    }
    for key, value in tags.items():
        client.set_model_version_tag(name, str(challenger), key, value)
    client.set_registered_model_alias(name, CHAMPION, str(challenger))
    client.delete_registered_model_alias(name, CHALLENGER)

    was = f"v{previous}" if previous is not None else "none"
    print(f"promote: {name} v{challenger} is now {CHAMPION} (was {was}); the {CHALLENGER} alias is removed")


if __name__ == "__main__":
    main()
