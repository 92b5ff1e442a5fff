package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
)

// The manual pages and shell completion come from the CLI's own
// definitions (urfave/cli's ToMan and ToFishCompletion, and its
// --generate-bash-completion), so they cannot drift from --help.

func manCommand() *cli.Command {
	return &cli.Command{
		Name:      "man",
		Usage:     "write the manual pages: gsoreplay.1 and one per subcommand (gsoreplay-replay.1, ...)",
		ArgsUsage: "DIR",
		Description: `Writes section 1 manual pages into DIR (created if missing), made from the same
definitions as --help:

  gsoreplay man /usr/local/share/man/man1 && man gsoreplay-replay
  gsoreplay man /tmp/m && man /tmp/m/gsoreplay-verify.1`,
		Action: func(c *cli.Context) error {
			dir, err := oneInput(c)
			if err != nil {
				return err
			}
			return writeManPages(c.App, dir)
		},
	}
}

// writeManPages writes the application's page and one per command (and
// per subcommand: gsoreplay-report-merge.1) into dir.
func writeManPages(app *cli.App, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	top := *app
	top.Commands = visible(app.Commands)
	pages := map[string]*cli.App{app.Name: &top}
	var add func(prefix string, cmds []*cli.Command)
	add = func(prefix string, cmds []*cli.Command) {
		for _, cmd := range visible(cmds) {
			name := prefix + "-" + cmd.Name
			usage := cmd.UsageText
			if usage == "" {
				usage = strings.ReplaceAll(name, "-", " ") + " [options] " + cmd.ArgsUsage
			}
			pages[name] = &cli.App{Name: name, Usage: cmd.Usage, UsageText: usage, Description: cmd.Description, Flags: cmd.Flags, Commands: visible(cmd.Subcommands)}
			add(name, cmd.Subcommands)
		}
	}
	add(app.Name, app.Commands)
	for name, page := range pages {
		text, err := page.ToManWithSection(1)
		if err != nil {
			return fmt.Errorf("man page %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".1"), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func visible(cmds []*cli.Command) []*cli.Command {
	var out []*cli.Command
	for _, c := range cmds {
		if !c.Hidden && c.Name != "help" {
			out = append(out, c)
		}
	}
	return out
}

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script: bash, zsh or fish",
		ArgsUsage: "SHELL",
		Description: `Prints a script that completes gsoreplay's subcommands and flags:

  source <(gsoreplay completion bash)                  # in ~/.bashrc
  gsoreplay completion zsh > "${fpath[1]}/_gsoreplay"   # zsh
  gsoreplay completion fish > ~/.config/fish/completions/gsoreplay.fish`,
		Action: func(c *cli.Context) error {
			shell, err := oneInput(c)
			if err != nil {
				return err
			}
			var script string
			switch shell {
			case "bash":
				script = bashCompletion
			case "zsh":
				script = zshCompletion
			case "fish":
				if script, err = c.App.ToFishCompletion(); err != nil {
					return err
				}
			default:
				return usagef("completion %q: want bash, zsh or fish", shell)
			}
			_, err = fmt.Fprint(c.App.Writer, script)
			return err
		},
	}
}

// bashCompletion asks the binary itself for the words that may follow
// (urfave/cli's --generate-bash-completion).
const bashCompletion = `# gsoreplay completion for bash: source <(gsoreplay completion bash)
_gsoreplay() {
  local cur=${COMP_WORDS[COMP_CWORD]} opts
  if [[ $cur == -* ]]; then
    opts=$("${COMP_WORDS[@]:0:COMP_CWORD}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${COMP_WORDS[@]:0:COMP_CWORD}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o default -F _gsoreplay gsoreplay
`

// zshCompletion does the same for zsh.
const zshCompletion = `#compdef gsoreplay
# gsoreplay completion for zsh: gsoreplay completion zsh > "${fpath[1]}/_gsoreplay"
_gsoreplay() {
  local -a opts
  local cur=${words[-1]}
  if [[ $cur == -* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} $cur --generate-bash-completion)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion)}")
  fi
  if [[ -n ${opts[1]} ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _gsoreplay gsoreplay
`
