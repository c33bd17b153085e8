/*
 * A freestanding kernel doing float, double and long double arithmetic the way GCC compiles it
 * for the x87 (-mfpmath=387 -mno-sse), plus a few x87 instructions GCC only reaches through
 * libm (written here as inline assembly), printing every result on COM1: as exact bit patterns
 * in hex and as decimals. x87Kernel.test.ts runs it under vtscope and under QEMU and compares.
 */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static void putc(char c) {
    while ((inb(0x3fd) & 0x20) == 0) { }
    outb(0x3f8, (u8)c);
}
static void puts(const char *s) { while (*s) putc(*s++); }

static void put_hex(u64 v, int digits) {
    for (int k = digits - 1; k >= 0; k--) putc("0123456789abcdef"[(v >> (4 * k)) & 15]);
}

static void put_dec(long long v) {
    char buf[24];
    int n = 0;
    u64 u = v < 0 ? -(u64)v : (u64)v;
    do { buf[n++] = (char)('0' + u % 10); u /= 10; } while (u != 0);
    if (v < 0) putc('-');
    while (n > 0) putc(buf[--n]);
}

/* A double as sign, integer part and `places` decimals: every step is x87 arithmetic. */
static void put_fixed(double d, int places) {
    if (d != d) { puts("nan"); return; }
    if (d < 0) { putc('-'); d = -d; }
    if (d > 1e18) { puts("big"); return; }
    long long whole = (long long)d;
    put_dec(whole);
    putc('.');
    double frac = d - (double)whole;
    for (int k = 0; k < places; k++) {
        frac *= 10;
        int digit = (int)frac;
        putc((char)('0' + digit));
        frac -= digit;
    }
}

static u64 bits_of_double(double d) { union { double d; u64 u; } x = { d }; return x.u; }
static u32 bits_of_float(float f) { union { float f; u32 u; } x = { f }; return x.u; }

static void show_double(const char *label, double d) {
    puts(label); puts(" = "); put_hex(bits_of_double(d), 16); putc(' '); put_fixed(d, 12); putc('\n');
}
static void show_float(const char *label, float f) {
    puts(label); puts(" = "); put_hex(bits_of_float(f), 8); putc(' '); put_fixed(f, 6); putc('\n');
}
static void show_long_double(const char *label, long double x) {
    union { long double x; struct { u64 sig; u16 se; } p; } u = { x };
    puts(label); puts(" = "); put_hex(u.p.se, 4); putc(':'); put_hex(u.p.sig, 16); putc('\n');
}

/* Kept in memory so GCC cannot fold the arithmetic at compile time. */
static volatile double vd[] = { 1.0, 3.0, 0.1, 2.5, -7.25, 1e300, 1e-300, 123456789.875, -0.0 };
static volatile float vf[] = { 1.0f, 3.0f, 0.1f, 16777217.0f, -2.5f };
static volatile long long vi[] = { 1234567890123456789LL, -42, 9007199254740993LL };

static u16 fpu_status(void) { u16 sw; __asm__ volatile("fnstsw %0" : "=m"(sw)); return sw; }
static u16 fpu_control(void) { u16 cw; __asm__ volatile("fnstcw %0" : "=m"(cw)); return cw; }
static void set_fpu_control(u16 cw) { __asm__ volatile("fldcw %0" : : "m"(cw)); }

static double fprem_loop(double a, double b) {
    double r;
    __asm__("1: fprem\n fnstsw %%ax\n testw $0x400, %%ax\n jnz 1b" : "=t"(r) : "0"(a), "u"(b) : "ax", "cc");
    return r;
}

static double scale(double a, double n) {
    double r;
    __asm__("fscale" : "=t"(r) : "0"(a), "u"(n));
    return r;
}

static unsigned mandelbrot_row(double ci) {
    unsigned row = 0;
    for (int x = 0; x < 32; x++) {
        double cr = -2.0 + x * (2.6 / 32), zr = 0, zi = 0;
        int n = 0;
        while (n < 50 && zr * zr + zi * zi <= 4.0) {
            double t = zr * zr - zi * zi + cr;
            zi = 2 * zr * zi + ci;
            zr = t;
            n++;
        }
        putc(n == 50 ? '#' : n > 8 ? '+' : '.');
        row += (unsigned)n;
    }
    return row;
}

void kmain(void) {
    puts("x87 kernel\n");
    puts("cw at entry "); put_hex(fpu_control(), 4); puts(", sw "); put_hex(fpu_status(), 4); putc('\n');
    __asm__ volatile("fninit");

    show_double("1/3", vd[0] / vd[1]);
    show_double("0.1*3", vd[2] * vd[1]);
    show_double("sqrt(2.5)", __builtin_sqrt(vd[3]));
    show_double("fabs(-7.25)", __builtin_fabs(vd[4]));
    show_double("1e300*1e300", vd[5] * vd[5]);
    show_double("1e-300*1e-300", vd[6] * vd[6]);
    show_double("1e-300/1e10", vd[6] / 1e10);
    show_double("-0.0*5", vd[8] * 5);
    show_double("rint(2.5)", __builtin_rint(vd[3]));
    show_double("fprem(123456789.875, 0.1)", fprem_loop(vd[7], vd[2]));
    show_double("fscale(2.5, 10)", scale(vd[3], 10));
    show_float("1f/3f", vf[0] / vf[1]);
    show_float("16777217f+1", vf[3] + vf[0]);
    show_float("0.1f*-2.5f", vf[2] * vf[4]);

    long double third = (long double)vd[0] / (long double)vd[1];
    show_long_double("1/3 extended", third);
    show_long_double("ll 1234567890123456789", (long double)vi[0]);
    show_double("(double)9007199254740993", (double)vi[2]);

    puts("(long long)123456789.875 = "); put_dec((long long)vd[7]); putc('\n');
    puts("(int)-7.25 = "); put_dec((int)vd[4]); putc('\n');
    puts("(unsigned long long)1e19 = "); put_hex((u64)(vd[2] * 1e20), 16); putc('\n');
    puts("lrint(-7.25) = "); put_dec(__builtin_lrint(vd[4])); putc('\n');
    puts("1 < 3: "); put_dec(vd[0] < vd[1]); puts(", nan == nan: "); put_dec((vd[5] * vd[5] - vd[5] * vd[5]) == (vd[5] * vd[5] - vd[5] * vd[5])); putc('\n');

    /* Harmonic series: double rounding in 64-bit precision (the default) ... */
    double h = 0;
    for (int k = 1; k <= 2000; k++) h += 1.0 / k;
    show_double("H(2000), 64-bit precision", h);
    /* ... and with precision control at 53 bits, as many kernels set it. */
    set_fpu_control((u16)((fpu_control() & ~0x300) | 0x200));
    h = 0;
    for (int k = 1; k <= 2000; k++) h += 1.0 / k;
    show_double("H(2000), 53-bit precision", h);
    puts("cw "); put_hex(fpu_control(), 4); putc('\n');
    __asm__ volatile("fninit");

    /* Leibniz series for pi in float, double and long double. */
    float pf = 0; double pd = 0; long double pl = 0;
    for (int k = 0; k < 3000; k++) {
        float t = (k & 1 ? -4.0f : 4.0f) / (2 * k + 1);
        pf += t; pd += (k & 1 ? -4.0 : 4.0) / (2 * k + 1); pl += (k & 1 ? -4.0L : 4.0L) / (2 * k + 1);
    }
    show_float("pi float", pf);
    show_double("pi double", pd);
    show_long_double("pi long double", pl);

    unsigned total = 0;
    for (int y = 0; y < 12; y++) { total += mandelbrot_row(-1.2 + y * 0.2); putc('\n'); }
    puts("mandelbrot iterations "); put_dec(total); putc('\n');

    /* Masked exceptions leave their flags: precision, overflow, zero divide, invalid. */
    __asm__ volatile("fnclex");
    volatile double zero = 0, r = vd[0] / zero;
    (void)r;
    puts("sw after 1/0 "); put_hex(fpu_status() & 0x3f, 2); putc('\n');

    outb(0xf4, 0);
}
