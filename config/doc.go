// Package config layers a command's configuration over one flag.FlagSet,
// which is its schema: every flag a command registers is also a key of its
// configuration file and an environment variable, with no second list to
// keep in step.
//
// # Precedence
//
// From strongest to weakest:
//
//  1. a command-line flag (--max-k 50),
//  2. an environment variable AISLE_<FLAG>, the flag name in upper case
//     with '-' as '_' (AISLE_MAX_K=50), see EnvName,
//  3. the YAML file named by --config (or AISLE_CONFIG), one key per flag,
//     spelled as the flag (max-k: 50),
//  4. the flag's default, which is the documented default.
//
// The file is strict: an unknown key, a key given twice, a nested value or
// a value the flag refuses is an error naming the file, the line and the
// key. An environment variable that does not parse is an error naming the
// variable. Variables starting with AISLE_ that name no flag are ignored
// (a deployment may set them for another version). Flags that are actions
// rather than settings (--print-config), named to Load, come from the
// command line only.
//
// # Printing
//
// Print writes the effective configuration as YAML that Load reads back
// unchanged, each key under a comment with its help text; values of secret
// keys (IsSecret) are replaced by Redacted.
//
// # Adding a key
//
// Register the flag on the command's FlagSet (one line, e.g.
// fs.StringVar(&c.redisAddr, "redis-addr", "", "...")); it is a file key,
// AISLE_REDIS_ADDR and a line of --print-config from then on. Check its
// value in the command's Validate with Errorf("redis-addr", ...).
package config
