/*
 * ata.c: the primary IDE channel's master disk through PIO (ATA/ATAPI-6): IDENTIFY DEVICE,
 * READ SECTORS and WRITE SECTORS with 28-bit LBAs, one sector at a time, by polling the
 * status register with the interrupt disabled (nIEN). The data moves one 16-bit word per
 * IN or OUT, 256 per sector.
 */
#include "../lib/console.h"
#include "kernel.h"

#define ATA_DATA 0x1F0
#define ATA_SECTOR_COUNT 0x1F2
#define ATA_LBA_LOW 0x1F3
#define ATA_LBA_MID 0x1F4
#define ATA_LBA_HIGH 0x1F5
#define ATA_DEVICE 0x1F6
#define ATA_STATUS 0x1F7 /* reads; writes are commands */
#define ATA_COMMAND 0x1F7
#define ATA_CONTROL 0x3F6 /* writes; reads are the alternate status */

#define STATUS_ERR 0x01
#define STATUS_DRQ 0x08
#define STATUS_DF 0x20
#define STATUS_BSY 0x80
#define CONTROL_NIEN 0x02
#define DEVICE_LBA 0xE0 /* master, LBA addressing */

#define CMD_READ_SECTORS 0x20
#define CMD_WRITE_SECTORS 0x30
#define CMD_FLUSH_CACHE 0xE7
#define CMD_IDENTIFY 0xEC

static inline uint16_t inw(uint16_t port)
{
    uint16_t value;
    __asm__ volatile("inw %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

static inline void outw(uint16_t port, uint16_t value)
{
    __asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port));
}

/* The status once BSY clears; 0xFF (a floating bus) means no controller, 0 no device. */
static uint8_t wait_not_busy(void)
{
    uint8_t status;
    while ((status = inb(ATA_STATUS)) & STATUS_BSY)
        if (status == 0xFF)
            break;
    return status;
}

static int command(uint32_t lba, uint8_t cmd)
{
    outb(ATA_CONTROL, CONTROL_NIEN);
    outb(ATA_DEVICE, DEVICE_LBA | ((lba >> 24) & 0x0F));
    outb(ATA_SECTOR_COUNT, 1);
    outb(ATA_LBA_LOW, (uint8_t)lba);
    outb(ATA_LBA_MID, (uint8_t)(lba >> 8));
    outb(ATA_LBA_HIGH, (uint8_t)(lba >> 16));
    outb(ATA_COMMAND, cmd);
    uint8_t status = wait_not_busy();
    return (status & (STATUS_ERR | STATUS_DF)) || !(status & STATUS_DRQ) ? -1 : 0;
}

int ata_identify(uint32_t *sectors, char model[41])
{
    outb(ATA_DEVICE, DEVICE_LBA);
    if (inb(ATA_STATUS) == 0xFF || inb(ATA_STATUS) == 0x00)
        return -1;
    uint16_t words[256];
    if (command(0, CMD_IDENTIFY) != 0)
        return -1;
    for (int k = 0; k < 256; k++)
        words[k] = inw(ATA_DATA);
    *sectors = words[60] | (uint32_t)words[61] << 16; /* user-addressable sectors, 28-bit */
    /* Words 27-46: the model number, two characters a word, first in the high byte. */
    int end = 0;
    for (int k = 0; k < 20; k++) {
        model[2 * k] = (char)(words[27 + k] >> 8);
        model[2 * k + 1] = (char)words[27 + k];
    }
    for (int k = 0; k < 40; k++)
        if (model[k] != ' ')
            end = k + 1;
    model[end] = '\0';
    return 0;
}

int ata_read(uint32_t lba, void *buffer)
{
    if (command(lba, CMD_READ_SECTORS) != 0)
        return -1;
    uint16_t *words = buffer;
    for (int k = 0; k < SECTOR_BYTES / 2; k++)
        words[k] = inw(ATA_DATA);
    return 0;
}

int ata_write(uint32_t lba, const void *buffer)
{
    if (command(lba, CMD_WRITE_SECTORS) != 0)
        return -1;
    const uint16_t *words = buffer;
    for (int k = 0; k < SECTOR_BYTES / 2; k++)
        outw(ATA_DATA, words[k]);
    if (wait_not_busy() & (STATUS_ERR | STATUS_DF))
        return -1;
    outb(ATA_COMMAND, CMD_FLUSH_CACHE);
    return wait_not_busy() & (STATUS_ERR | STATUS_DF) ? -1 : 0;
}
