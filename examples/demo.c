/*
 * The program `make demo` traces: a word count with a few levels of calls,
 * small enough to single-step in a moment.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int is_word_char(int c)
{
	return isalnum(c) || c == '\'';
}

static int count_words(const char *text)
{
	int words = 0, in_word = 0;

	for (; *text; text++) {
		int w = is_word_char((unsigned char)*text);

		words += w && !in_word;
		in_word = w;
	}
	return words;
}

static void report(const char *text)
{
	printf("%d words in \"%s\"\n", count_words(text), text);
}

int main(int argc, char **argv)
{
	report(argc > 1 ? argv[1] : "the quick brown fox");
	return 0;
}
