/*
 * mptable.c: finds the MP floating pointer structure where section 4 of the MultiProcessor
 * Specification 1.4 says a BIOS puts it (the first KiB of the extended BIOS data area, the
 * last KiB of base memory, or the BIOS ROM between 0xF0000 and 0xFFFFF, on a 16-byte
 * boundary), checks both checksums, and walks the configuration table's entries.
 */
#include "../lib/console.h"
#include "mptable.h"

#define BDA_EBDA_SEGMENT 0x40E /* BIOS data area: segment of the extended BIOS data area */
#define BDA_BASE_MEMORY_KIB 0x413

enum { ENTRY_PROCESSOR, ENTRY_BUS, ENTRY_IO_APIC, ENTRY_IO_INTERRUPT, ENTRY_LOCAL_INTERRUPT };
static const uint8_t entry_size[] = { 20, 8, 8, 8, 8 };

struct __attribute__((packed)) mp_floating_pointer {
    char signature[4];
    uint32_t config_table;
    uint8_t length; /* in 16-byte units */
    uint8_t spec_revision;
    uint8_t checksum;
    uint8_t features[5];
};

struct __attribute__((packed)) mp_config_header {
    char signature[4];
    uint16_t length;
    uint8_t spec_revision;
    uint8_t checksum;
    char oem[8];
    char product[12];
    uint32_t oem_table;
    uint16_t oem_table_size;
    uint16_t entry_count;
    uint32_t local_apic;
    uint16_t extended_length;
    uint8_t extended_checksum;
    uint8_t reserved;
};

static uint8_t sum_bytes(const volatile uint8_t *p, uint32_t length)
{
    uint8_t sum = 0;
    while (length-- > 0)
        sum += *p++;
    return sum;
}

static int has_signature(const volatile char *p, const char *signature)
{
    for (int k = 0; k < 4; k++)
        if (p[k] != signature[k])
            return 0;
    return 1;
}

static uint32_t scan(uint32_t start, uint32_t length)
{
    for (uint32_t a = start; a + 16 <= start + length; a += 16) {
        const volatile struct mp_floating_pointer *fp = phys(a);
        if (has_signature(fp->signature, "_MP_") && fp->length == 1 && sum_bytes(phys(a), 16) == 0)
            return a;
    }
    return 0;
}

/* Copies a blank-padded text field and drops the padding. */
static void copy_text(char *to, const volatile char *from, int length)
{
    int end = 0;
    for (int k = 0; k < length; k++) {
        to[k] = from[k];
        if (from[k] != ' ')
            end = k + 1;
    }
    to[end] = '\0';
}

const char *mp_discover(struct mp_info *info)
{
    uint32_t ebda = (uint32_t)*(volatile uint16_t *)phys(BDA_EBDA_SEGMENT) << 4;
    uint32_t base_top = (uint32_t)*(volatile uint16_t *)phys(BDA_BASE_MEMORY_KIB) * 1024;
    if (ebda != 0 && (info->floating_pointer = scan(ebda, 1024)) != 0)
        info->found_in = "extended BIOS data area";
    else if ((info->floating_pointer = scan(base_top - 1024, 1024)) != 0)
        info->found_in = "last KiB of base memory";
    else if ((info->floating_pointer = scan(0xF0000, 0x10000)) != 0)
        info->found_in = "BIOS ROM";
    else
        return "no MP floating pointer structure";

    const volatile struct mp_floating_pointer *fp = phys(info->floating_pointer);
    info->spec_revision = fp->spec_revision;
    info->imcr_present = fp->features[1] >> 7;
    info->config_table = fp->config_table;
    if (fp->features[0] != 0)
        return "a default configuration, no table";

    const volatile struct mp_config_header *h = phys(info->config_table);
    if (!has_signature(h->signature, "PCMP"))
        return "no PCMP signature at the configuration table address";
    if (sum_bytes(phys(info->config_table), h->length) != 0)
        return "configuration table checksum is wrong";
    copy_text(info->oem, h->oem, 8);
    copy_text(info->product, h->product, 12);
    info->entries = h->entry_count;
    info->local_apic = h->local_apic;

    for (int k = 0; k < MP_MAX_ISA_IRQS; k++)
        info->isa_irq_pin[k] = 0xFF;
    int isa_bus = -1;
    const volatile uint8_t *e = phys(info->config_table + sizeof *h);
    for (uint16_t n = 0; n < h->entry_count; n++) {
        if (e[0] > ENTRY_LOCAL_INTERRUPT)
            return "unknown entry type in the configuration table";
        switch (e[0]) {
        case ENTRY_PROCESSOR:
            if (e[3] & 1) { /* enabled */
                info->processors++;
                if (e[3] & 2)
                    info->bsp_apic_id = e[1];
            }
            break;
        case ENTRY_BUS:
            if (has_signature((const volatile char *)e + 2, "ISA "))
                isa_bus = e[1];
            break;
        case ENTRY_IO_APIC:
            if (info->io_apic == 0 && (e[3] & 1)) {
                info->io_apic_id = e[1];
                info->io_apic_version = e[2];
                info->io_apic = *(const volatile uint32_t *)(e + 4);
            }
            break;
        case ENTRY_IO_INTERRUPT: /* type, flags, source bus, source IRQ, APIC ID, INTIN */
            if (e[1] == 0 && e[4] == isa_bus && e[5] < MP_MAX_ISA_IRQS && e[6] == info->io_apic_id)
                info->isa_irq_pin[e[5]] = e[7];
            break;
        }
        e += entry_size[e[0]];
    }
    if (info->io_apic == 0)
        return "no I/O APIC in the configuration table";
    return 0;
}
