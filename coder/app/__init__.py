"""The application layer: :class:`Project` owns every user action; the faces (``coder.cli``, ``coder.web``) call it.

Modules here import the store and the compute modules, never a face; ``common`` is the bottom.
"""

from coder.app.project import Counts, Project, Sentence
from coder.app.session import Answered, ReviewSession, ReviewState

__all__ = ["Answered", "Counts", "Project", "ReviewSession", "ReviewState", "Sentence"]
