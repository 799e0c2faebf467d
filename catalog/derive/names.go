package derive

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// sizeRe finds "<number> <unit>" ("12 oz", "14OZ.", "1.5 Fl Oz", "24 CT",
// "6-Pack"). The unit must end at a word boundary so "4 Grain" and "2 Go"
// are not sizes.
var sizeRe = regexp.MustCompile(`(?i)(\d+(?:\.\d+)?)\s*-?\s*(fl\.?\s*oz|oz|ounces?|lbs?|pounds?|kg|g|grams?|ml|l|liters?|litres?|gal|gallons?|pt|pints?|qt|quarts?|ct|count|pk|packs?)\b`)

// packOfRe finds "Pack of 6".
var packOfRe = regexp.MustCompile(`(?i)\bpack of (\d+)\b`)

// wordSizes are sizes written as words, checked when no number+unit is
// found.
var wordSizes = []struct {
	re   *regexp.Regexp
	size string
}{
	{regexp.MustCompile(`(?i)\bhalf gallon\b`), "0.5 gal"},
	{regexp.MustCompile(`(?i)\bgallon\b`), "1 gal"},
	{regexp.MustCompile(`(?i)\bquart\b`), "1 qt"},
	{regexp.MustCompile(`(?i)\bpint\b`), "1 pt"},
	{regexp.MustCompile(`(?i)\bdozen\b`), "12 ct"},
}

// units maps every unit spelling to its canonical form.
var units = map[string]string{
	"oz": "oz", "ounce": "oz", "ounces": "oz", "floz": "fl oz", "fl.oz": "fl oz",
	"lb": "lb", "lbs": "lb", "pound": "lb", "pounds": "lb",
	"kg": "kg", "g": "g", "gram": "g", "grams": "g",
	"ml": "ml", "l": "l", "liter": "l", "liters": "l", "litre": "l", "litres": "l",
	"gal": "gal", "gallon": "gal", "gallons": "gal",
	"pt": "pt", "pint": "pt", "pints": "pt", "qt": "qt", "quart": "qt", "quarts": "qt",
	"ct": "ct", "count": "ct", "pk": "pack", "pack": "pack", "packs": "pack",
}

// Size derives the size or pack of a product from its name: the first
// "<number> <unit>" with the unit normalised (oz, fl oz, lb, g, kg, ml, l,
// gal, pt, qt, ct, pack), else "Pack of N" as "N pack", else a size word
// (gallon, half gallon, quart, pint, dozen), else "". Nutrient amounts in a
// name ("Fiber 4g") are read as sizes too: the rule sees words, not meaning.
func Size(name string) string {
	if !strings.ContainsAny(name, "0123456789") {
		return wordSize(name)
	}
	if m := sizeRe.FindStringSubmatch(name); m != nil {
		unit := strings.ToLower(strings.Join(strings.Fields(m[2]), ""))
		return trimNumber(m[1]) + " " + units[unit]
	}
	if m := packOfRe.FindStringSubmatch(name); m != nil {
		return trimNumber(m[1]) + " pack"
	}
	return wordSize(name)
}

func wordSize(name string) string {
	lower := strings.ToLower(name)
	if !strings.Contains(lower, "gallon") && !strings.Contains(lower, "quart") &&
		!strings.Contains(lower, "pint") && !strings.Contains(lower, "dozen") {
		return "" // no size word: skip the regular expressions
	}
	for _, w := range wordSizes {
		if w.re.MatchString(name) {
			return w.size
		}
	}
	return ""
}

// trimNumber writes "12.0" as "12" and "05" as "5".
func trimNumber(s string) string {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// flavours is the flavour vocabulary, multi-word entries first so that
// "mint chocolate chip" wins over "mint" and "chocolate". A product's
// flavour is the entry that starts earliest in its name (the longest one
// on a tie). Chosen by hand from common grocery flavour words; it is a
// vocabulary, not learned from any data set.
var flavours = []string{
	"cookies & cream", "cookies and cream", "mint chocolate chip", "chocolate chip",
	"salted caramel", "sea salt & vinegar", "salt & vinegar", "sour cream & onion",
	"sea salt", "honey mustard", "peanut butter", "cinnamon raisin", "mixed berry",
	"french vanilla", "dark chocolate", "milk chocolate", "white chocolate", "key lime",
	"pumpkin spice", "black cherry", "cherry vanilla", "strawberry banana",
	"vanilla", "chocolate", "strawberry", "raspberry", "blueberry", "blackberry",
	"cherry", "banana", "mango", "peach", "pineapple", "coconut", "apple", "lemon",
	"lime", "orange", "grapefruit", "grape", "watermelon", "pomegranate", "cranberry",
	"pear", "apricot", "passion fruit", "tropical", "berry", "caramel", "toffee",
	"butterscotch", "maple", "honey", "cinnamon", "ginger", "mint", "peppermint",
	"spearmint", "coffee", "mocha", "espresso", "hazelnut", "almond", "pecan",
	"pistachio", "matcha", "chai", "pumpkin", "garlic", "onion", "jalapeno",
	"jalapeño", "chipotle", "habanero", "sriracha", "barbecue", "bbq", "ranch",
	"buffalo", "teriyaki", "cheddar", "parmesan", "smoked", "honey roasted",
}

// Flavour derives a product's flavour from its name by the vocabulary
// above, matched on whole words, case-insensitively; "" when none occurs.
// The result is the vocabulary entry ("mint chocolate chip").
func Flavour(name string) string {
	words := strings.Fields(normWords(name))
	for i := range words {
		for n := min(maxFlavourWords, len(words)-i); n > 0; n-- {
			if f := strings.Join(words[i:i+n], " "); flavourSet[f] {
				return f
			}
		}
	}
	return ""
}

// flavourSet and maxFlavourWords index the vocabulary by its word sequences.
var flavourSet, maxFlavourWords = func() (map[string]bool, int) {
	set, most := map[string]bool{}, 0
	for _, f := range flavours {
		set[f] = true
		most = max(most, len(strings.Fields(f)))
	}
	return set, most
}()

// normWords lowercases a name and turns every separator except '&', '\”,
// '-' and '%' into a single space, so "Vanilla, Bean" reads "vanilla bean".
func normWords(s string) string {
	var b strings.Builder
	space := true
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '&' || r == '\'' || r == '-' || r == '%' {
			b.WriteRune(r)
			space = false
		} else if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimSpace(b.String())
}
