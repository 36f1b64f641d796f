"""A scenario file in parts, so that each test changes one key."""

HEAD = '''name = "vma_lock+munmap-neighbour+collapse"
doc = "The walker holds the VMA read lock; munmap() of a VMA two PMDs away and khugepaged's collapse of the walked PMD race with it."
expect = "safe"
kernel = "6.18"
faulted = ["A+0x1000", "A+2M+0x6000", "B+0x1000"]
'''
WALKER = '''
[walker]
holds = ["vma_lock"]
address = "A+2M+0x5000"
'''
VMAS = '''
[[vma]]
name = "exe"
start = 0x5555_5555_4000
end = 0x5555_5557_5000
kind = "file"

[[vma]]
name = "A"
start = 0x7f00_0000_0000
size = "4M"

[[vma]]
name = "B"
start = "A.end+4M"
size = "2M"

[[vma]]
name = "stack"
start = 0x7ffd_e000_0000
end = 0x7ffd_e002_1000
'''
PATHS = '''
[[path]]
op = "munmap"
vma = "B"

[[path]]
op = "khugepaged_collapse"
start = "A+2M"
size = "2M"
'''
THREE_CPUS = HEAD + WALKER + VMAS + PATHS


