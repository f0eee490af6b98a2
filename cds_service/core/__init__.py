"""The pure decision core: typed patient facts in, typed recommendations out.

Nothing in this package performs I/O, reads the clock or imports a web framework; ``today`` is a
parameter. The public entry points are :func:`decide` and :func:`load_knowledge`.
"""

from cds_service.core.decide import DecisionPolicy, decide
from cds_service.core.knowledge import Knowledge, KnowledgeError, load_knowledge

__all__ = ["DecisionPolicy", "Knowledge", "KnowledgeError", "decide", "load_knowledge"]
