/* Source lines from DWARF (libdw). See sym_image_line() in image.h. */
#include "sym/internal.h"

/* DWARF of the debug file when there is one, else of the image itself. */
static Dwarf *image_dwarf(struct sym_image *img)
{
	if (img->dwarf_tried)
		return img->dwarf;
	img->dwarf_tried = true;
	sym_image_load_symbols(img, NULL); /* finds the debug file */
	if (img->debug.elf)
		img->dwarf = dwarf_begin_elf(img->debug.elf, DWARF_C_READ, NULL);
	if (!img->dwarf)
		img->dwarf = dwarf_begin_elf(img->main.elf, DWARF_C_READ, NULL);
	return img->dwarf;
}

int sym_image_line(struct sym_image *img, uint64_t addr, struct sym_line *out)
{
	Dwarf *dw = image_dwarf(img);
	Dwarf_Die cu;
	Dwarf_Line *line;
	int lineno = 0, col = 0;
	const char *file;

	if (!dw || !dwarf_addrdie(dw, addr, &cu))
		return 0;
	line = dwarf_getsrc_die(&cu, addr);
	if (!line || !(file = dwarf_linesrc(line, NULL, NULL)))
		return 0;
	dwarf_lineno(line, &lineno);
	dwarf_linecol(line, &col);
	*out = (struct sym_line){ file, lineno, col };
	return 1;
}
