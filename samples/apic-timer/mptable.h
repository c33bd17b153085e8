/* mptable.h: what the kernel learns from the MultiProcessor Specification 1.4 tables. */
#ifndef MPTABLE_H
#define MPTABLE_H
#include <stdint.h>

#define MP_MAX_ISA_IRQS 16

struct mp_info {
    uint32_t floating_pointer; /* physical address of "_MP_" */
    const char *found_in;      /* which of the three areas the search found it in */
    uint8_t spec_revision;     /* 4 for version 1.4 */
    uint8_t imcr_present;      /* feature byte 2 bit 7: PIC mode, else virtual wire mode */
    uint32_t config_table;     /* physical address of "PCMP" */
    char oem[9], product[13];
    uint16_t entries;
    uint32_t local_apic;       /* the local APICs' address */
    uint32_t processors, bsp_apic_id;
    uint32_t io_apic;          /* the first I/O APIC's address, its ID and table version */
    uint8_t io_apic_id, io_apic_version;
    /* The I/O APIC input each ISA IRQ is wired to, or 0xFF where the table names none. */
    uint8_t isa_irq_pin[MP_MAX_ISA_IRQS];
};

/* Finds and checks the tables as the specification says (section 4); 0 on success, else a message. */
const char *mp_discover(struct mp_info *info);

#endif
