/* processors.h: finding the processors and starting the application processors. */
#ifndef PROCESSORS_H
#define PROCESSORS_H
#include <stdint.h>

#define MAX_CPUS 8

/* The processor count QEMU's fw_cfg device gives (key 5), or 0 when there is no fw_cfg. */
unsigned fw_cfg_processor_count(void);
/* This processor's local APIC ID. */
uint32_t lapic_id(void);
/* Starts the processor with APIC ID `apic_id` on the stack ending at `stack_top`; 0 once it runs, -1 if it never answers. */
int start_application_processor(uint32_t apic_id, void *stack_top);

/* What every processor runs, the bootstrap processor included (kernel.c). */
void cpu_main(uint32_t apic_id);

#endif
