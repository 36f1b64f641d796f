"""The actors' roles and the walker's holder names, shared by every layer of
the kernel model (no import of their own, so nothing circles through them).

Roles: the walker on CPU0; one racing kernel path per further CPU (named by the
scenario); each CPU's IPI handler, irqN; the RCU grace-period kthread
(kernel/rcu/tree.c rcu_gp_kthread) and RCU callback invocation (rcu_do_batch).
"""

WALKER = "walker"
RCU_GP = "rcu_gp"
RCU_CB = "rcu_cb"

#: What a walker's caller may hold, in the canonical order (sleeping locks first):
#: mmap_read_lock(), lock_vma_under_rcu(), rcu_read_lock(), local_irq_disable().
HOLDS = ("mmap_lock", "vma_lock", "rcu", "irqs_off")


def irq_actor(cpu: int) -> str:
    """The actor that takes IPIs on `cpu`."""
    return f"irq{cpu}"
