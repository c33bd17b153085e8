/*
 * intmark: a CoreMark-like integer workload (list processing, matrix arithmetic, a state
 * machine and CRC-16), run ITERATIONS times, printing a checksum on COM1 and exiting through
 * isa-debug-exit. The speed benchmark's second workload; the checksum lets the benchmark
 * check that every emulator computed the same thing.
 */
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef int i32;

#ifndef ITERATIONS
#define ITERATIONS 400
#endif

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static void putc(char c) {
    while ((inb(0x3fd) & 0x20) == 0) { }
    outb(0x3f8, (u8)c);
}
static void puts(const char *s) { while (*s) putc(*s++); }
static void puthex(u32 v) {
    for (int i = 28; i >= 0; i -= 4) putc("0123456789abcdef"[(v >> i) & 15]);
}

static u16 crc16(u16 crc, u32 data) {
    for (int i = 0; i < 32; i++) {
        u32 bit = ((data >> i) ^ crc) & 1;
        crc >>= 1;
        if (bit) crc ^= 0xa001;
    }
    return crc;
}

/* ---- linked list: build, reverse, search, insertion-sort by value ---- */
struct node { struct node *next; i32 value; u32 index; };
#define LIST_SIZE 96
static struct node nodes[LIST_SIZE];

static u16 bench_list(u32 seed, u16 crc) {
    struct node *head = 0;
    for (u32 i = 0; i < LIST_SIZE; i++) {
        seed = seed * 1103515245u + 12345u;
        nodes[i].value = (i32)(seed >> 8) % 1000;
        nodes[i].index = i;
        nodes[i].next = head;
        head = &nodes[i];
    }
    struct node *rev = 0;
    while (head) { struct node *n = head->next; head->next = rev; rev = head; head = n; }
    struct node *sorted = 0;
    while (rev) {
        struct node *n = rev->next;
        struct node **p = &sorted;
        while (*p && (*p)->value < rev->value) p = &(*p)->next;
        rev->next = *p;
        *p = rev;
        rev = n;
    }
    u32 found = 0;
    for (i32 want = 0; want < 1000; want += 37)
        for (struct node *n = sorted; n; n = n->next)
            if (n->value == want) { found += n->index; break; }
    for (struct node *n = sorted; n; n = n->next) crc = crc16(crc, (u32)n->value);
    return crc16(crc, found);
}

/* ---- matrix: C = A * B, then C += scalar, then a bit-extract sum ---- */
#define N 12
static i32 ma[N][N], mb[N][N], mc[N][N];

static u16 bench_matrix(u32 seed, u16 crc) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            seed = seed * 1664525u + 1013904223u;
            ma[i][j] = (i32)(seed >> 20) - 2048;
            mb[i][j] = (i32)((seed >> 4) & 0xfff) - 2048;
        }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            i32 s = 0;
            for (int k = 0; k < N; k++) s += ma[i][k] * mb[k][j];
            mc[i][j] = s;
        }
    i32 total = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            mc[i][j] += (i32)seed & 0xff;
            total += (mc[i][j] >> 3) & 0x7f;
        }
    return crc16(crc, (u32)total);
}

/* ---- state machine: classify tokens of a generated string ---- */
enum state { START, INT, FRAC, EXP, INVALID };
static char text[256];

static u16 bench_state(u32 seed, u16 crc) {
    static const char alphabet[] = "0123456789.e-+, x";
    for (int i = 0; i < 255; i++) {
        seed = seed * 22695477u + 1u;
        text[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
    }
    text[255] = 0;
    u32 counts[5] = {0, 0, 0, 0, 0};
    enum state s = START;
    for (const char *p = text; ; p++) {
        char c = *p;
        if (c == ',' || c == ' ' || c == 0) {
            counts[s]++;
            s = START;
            if (c == 0) break;
            continue;
        }
        switch (s) {
        case START: s = (c >= '0' && c <= '9') || c == '-' || c == '+' ? INT : c == '.' ? FRAC : INVALID; break;
        case INT: s = (c >= '0' && c <= '9') ? INT : c == '.' ? FRAC : c == 'e' ? EXP : INVALID; break;
        case FRAC: s = (c >= '0' && c <= '9') ? FRAC : c == 'e' ? EXP : INVALID; break;
        case EXP: s = (c >= '0' && c <= '9') || c == '-' || c == '+' ? EXP : INVALID; break;
        default: break;
        }
    }
    for (int i = 0; i < 5; i++) crc = crc16(crc, counts[i]);
    return crc;
}

void kmain(u32 magic, u32 mbi) {
    (void)magic; (void)mbi;
    u16 crc = 0;
    putc('>');   /* start marker: the benchmark times from here */
    for (u32 it = 0; it < ITERATIONS; it++) {
        crc = bench_list(it * 7 + 1, crc);
        crc = bench_matrix(it * 13 + 5, crc);
        crc = bench_state(it * 3 + 11, crc);
    }
    puts("intmark crc ");
    puthex(crc);
    puts("\n");
    outb(0xf4, 0);
    for (;;) __asm__ volatile("cli; hlt");
}
