"""The work-order state machine: a table of transitions with guards, and its executor."""

from fieldservice.workflow.default import default_transitions
from fieldservice.workflow.requests import AssignRequest, TransitionRequest
from fieldservice.workflow.transitions import (
    Transition,
    TransitionContext,
    TransitionTable,
    perform,
)

__all__ = ["AssignRequest", "Transition", "TransitionContext", "TransitionRequest",
           "TransitionTable", "default_transitions", "perform"]
