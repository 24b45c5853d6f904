/*
 * libc_check: a program against a real embedded C library (Debian's picolibc, semihosting stdio),
 * compiled as ordinary C (no -mgeneral-regs-only), so printf's conversions, libm's kernels and fenv
 * run on the SIMD&FP unit. Every line is deterministic: the same on nvlab, QEMU and hardware.
 * Semihosting: stdout, a file written and read back in the semihosting root, the command line,
 * clock() and the exit status. Returns 0 when every self-check holds.
 */
#include <fenv.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures;

static void check(int ok, const char *what)
{
	if (!ok) {
		printf("FAIL: %s\n", what);
		failures++;
	}
}

static int by_value(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* volatile: the compiler must not fold the library calls away at build time. */
volatile double two = 2.0, third = 1.0 / 3.0, tiny = 1e-310, big = 1e308;
volatile float half = 0.5f, fbig = 3e38f;

static void strings_and_malloc(void)
{
	char *p = malloc(64);
	strcpy(p, "hello");
	strcat(p, " world");
	printf("%s %d %zu %x %ld\n", p, 42, strlen(p), 0xbeef, strtol("-1234", 0, 10));
	check(strcmp(p, "hello world") == 0 && strchr(p, 'w') == p + 6, "strcmp/strchr");
	char *blocks[16];
	for (int i = 0; i < 16; i++) {
		blocks[i] = malloc(100 + i * 37);
		memset(blocks[i], i, 100 + i * 37);
	}
	int sum = 0;
	for (int i = 0; i < 16; i++) {
		sum += blocks[i][99 + i * 37];
		free(blocks[i]);
	}
	printf("malloc: 16 blocks, sum of last bytes %d\n", sum);
	check(sum == 120, "malloc blocks");
	free(p);
}

static void formatting_and_sorting(void)
{
	char buf[96];
	snprintf(buf, sizeof buf, "%08.3f|%-5s|%e|%g|%a", two * 3.14159, "ab", two / 7, 1e-5 * two, third);
	puts(buf);
	int a[8] = {5, 3, 9, 1, 7, 2, 8, 0};
	qsort(a, 8, sizeof a[0], by_value);
	for (int i = 0; i < 8; i++)
		printf("%d", a[i]);
	puts("");
	double d[6] = {3.5, -1.25, 1e100, -0.0, 2.0 / 3.0, 1e-300};
	qsort(d, 6, sizeof d[0], by_double);
	for (int i = 0; i < 6; i++)
		printf("%.17g ", d[i]);
	puts("");
	check(d[0] == -1.25 && d[5] == 1e100, "qsort doubles");
}

static void math(void)
{
	double x = two;
	printf("%.15f %.15f %.15f %.15f %.15f %.15f\n", sqrt(x), sin(x), cos(x), exp(x), log(x), pow(x, 0.3));
	printf("%.9f %.9f %.9f %.9f\n", (double)sqrtf(half), (double)sinf(half), (double)expf(half), atan2(x, 3.0));
	printf("%g %g %g %g %g\n", floor(x * 1.7), ceil(-x * 1.7), fmod(x * 10.3, 3.0), round(2.5), trunc(-2.7));
	printf("%.17g %.17g %.17g\n", strtod("0.1", 0), strtod("1e-320", 0), strtod("-123456789.987654321", 0));
	printf("%g %g %g %g\n", tiny * tiny, big * 10, -big * 10, 0.0 / (tiny - tiny));
	printf("%ld %ld %d %u\n", lrint(2.5), lround(-2.5), (int)(fbig * 0.0f + 7.9f), (unsigned)(x * 1e9));
	check(sqrt(x) * sqrt(x) - x < 1e-15 && fabs(sin(x) * sin(x) + cos(x) * cos(x) - 1.0) < 1e-15, "libm identities");
}

static void rounding_modes(void)
{
	static const int modes[4] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
	for (int m = 0; m < 4; m++) {
		fesetround(modes[m]);
		feclearexcept(FE_ALL_EXCEPT);
		volatile double q = 1.0 / (third * 3.0 + 0.1);
		volatile double r = rint(-2.5) + nearbyint(3.5);
		volatile float s = (float)third * fbig * 10.0f;
		int flags = fetestexcept(FE_ALL_EXCEPT);
		printf("mode %d: %a %a %a %lld flags %x\n", m, q, r, (double)s, llrint(-7.5), flags);
	}
	fesetround(FE_TONEAREST);
	feclearexcept(FE_ALL_EXCEPT);
	volatile double z = 1.0 / (tiny - tiny);
	printf("%g divbyzero=%d invalid=%d\n", z, fetestexcept(FE_DIVBYZERO) != 0, fetestexcept(FE_INVALID) != 0);
	check(fetestexcept(FE_DIVBYZERO) != 0, "FE_DIVBYZERO raised");
}

/* A file in the semihosting root (`--semihosting-root`), written, closed, read back. */
static void files(void)
{
	FILE *f = fopen("libc_check.txt", "w");
	if (!f) {
		puts("files: no semihosting root (fopen failed)");
		return;
	}
	for (int i = 0; i < 5; i++)
		fprintf(f, "line %d: %.3f\n", i, sqrt((double)i));
	check(fclose(f) == 0, "fclose after writing");
	f = fopen("libc_check.txt", "r");
	check(f != NULL, "fopen for reading");
	if (!f)
		return;
	char line[64];
	int lines = 0;
	while (fgets(line, sizeof line, f))
		lines++;
	fclose(f);
	printf("files: 5 lines written, %d read back, last \"%.*s\"\n", lines, (int)strcspn(line, "\n"), line);
	check(lines == 5, "file read back");
	check(remove("libc_check.txt") == 0, "remove");
}

int main(int argc, char **argv)
{
	/* The last argument: picolibc's argv[1] is the image's name, which differs between runs. */
	printf("libc_check: %d argument(s), last \"%s\"\n", argc - 1, argc > 1 ? argv[argc - 1] : "");
	clock_t start = clock();
	strings_and_malloc();
	formatting_and_sorting();
	math();
	rounding_modes();
	files();
	check(clock() >= start, "clock() is monotonic");
	puts(failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
