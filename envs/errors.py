"""The one error tree of qvl-agent.

Every error the toolkit raises on purpose is a ``QvlError``. The split that matters is who is
to blame: a ``ModelBehaviorError`` is the model's (recorded on its step, shown to the model,
retried a bounded number of times); everything else is the user's input, the machine, or a
bug, and stops the run with one clear line.

    QvlError
    ├── ConfigError              bad user input: a flag, a file, a task or script field
    ├── ModelBehaviorError       the model's answer cannot be executed; fed back and retried
    │   ├── ActionParseError     not a well-formed tool call (bad JSON, unknown action, ...)
    │   │   └── AnswerTruncatedError  the answer was cut off by the token budget
    │   └── ActionRejectedError  well-formed but unusable (outside the frame, bad key name)
    │       ├── UnsupportedActionError  this env cannot do that kind of action
    │       └── SecretRefusedError   a <secret:NAME> that may not be typed here (or no such name)
    ├── ModelUnavailableError    no weights, unreachable endpoint, server refused the request
    ├── EnvError                 the screen could not be observed or driven
    │   ├── EnvNotFoundError     no browser / display / device to use
    │   └── EnvDisconnectedError the device or browser went away mid-episode
    ├── TaskError                a task was used out of order or its setup failed
    ├── EvalError                the evaluation harness could not run or resume
    └── StorageError             a run's files could not be written (a full disk, no right)
"""

from __future__ import annotations

__all__ = [
    "QvlError",
    "ConfigError",
    "ModelBehaviorError",
    "ActionParseError",
    "AnswerTruncatedError",
    "ActionRejectedError",
    "ModelUnavailableError",
    "EnvError",
    "EnvNotFoundError",
    "EnvDisconnectedError",
    "UnsupportedActionError",
    "SecretRefusedError",
    "TaskError",
    "EvalError",
    "StorageError",
]


class QvlError(Exception):
    """Base of every error qvl-agent raises on purpose; its message is one line for a user."""


class ConfigError(QvlError):
    """The user's input (a flag, a task file, a script) is invalid."""


class ModelBehaviorError(QvlError):
    """The model's answer cannot be executed. Its message is written to be shown to the model."""


class ActionParseError(ModelBehaviorError):
    """The answer is not a well-formed tool call."""


class AnswerTruncatedError(ActionParseError):
    """The answer stopped at the generation budget before it was complete."""


class ActionRejectedError(ModelBehaviorError):
    """The tool call is well-formed but cannot become an Action (e.g. a point outside the frame)."""


class ModelUnavailableError(QvlError):
    """The model cannot be reached: no weights, an unreachable server, a refused request."""


class EnvError(QvlError):
    """The environment could not be observed or driven."""


class EnvNotFoundError(EnvError):
    """No browser, display or device could be found to start the environment."""


class EnvDisconnectedError(EnvError):
    """The device or browser went away in the middle of an episode."""


class UnsupportedActionError(ActionRejectedError):
    """The environment cannot perform this kind of action (or press this key).

    It is a model behaviour error: only the model (or a script) chooses actions, and asking a
    phone to ``mouse_move`` is something to show the model, not a reason to stop the run.
    """


class SecretRefusedError(ActionRejectedError):
    """The model typed ``<secret:NAME>`` where that secret may not go, or a name it was not given.

    Its message names the secret and the place, never the value; it is shown to the model.
    """


class TaskError(QvlError):
    """A task was used out of order, or its setup could not bring the env to its start state."""


class EvalError(QvlError):
    """The evaluation harness could not run or resume."""


class StorageError(QvlError):
    """A run's output (its directory, results.jsonl) could not be written: the disk is full,
    or the folder is read-only. The run stops at once; what was written stays whole."""
