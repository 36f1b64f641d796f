"""pagewalk-edu: watch folio_walk_start() race with munmap(), MADV_DONTNEED and THP collapse.

The simulator lives in :mod:`pagewalk_edu.kernel`; the exhaustive interleaving
search in :mod:`pagewalk_edu.explore`; views and widgets above them.
"""

__version__ = "0.1.0"
