"""The pure decision core: typed patient facts in, typed recommendations out.

Nothing in this package performs I/O (except :func:`load_knowledge` reading the packaged rule
base and the published card-topic CodeSystem at start-up), reads the clock or imports a web
framework; ``today`` is a parameter. The public entry points are :func:`decide` and
:func:`load_knowledge`.
"""

from cds_service.core.decide import decide
from cds_service.core.knowledge import Knowledge, KnowledgeError, load_knowledge
from cds_service.core.policy import DecisionPolicy, TimingDefinition

__all__ = [
    "DecisionPolicy",
    "Knowledge",
    "KnowledgeError",
    "TimingDefinition",
    "decide",
    "load_knowledge",
]
