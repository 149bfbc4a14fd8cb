package issuer

import (
	"strconv"

	"github.com/portcullis/portcullis/internal/config"
)

// FromConfig turns one configured issuer (an `issuers:` entry at key path
// at, or a whole issuer file with at "") into Settings and its listen
// address. Relative paths are relative to the configuration file. Problems
// come back as *config.Errors located in f.
func FromConfig(f *config.File, at string, c config.Issuer) (Settings, string, error) {
	var errs config.Errors
	field := func(name string) string {
		if at == "" {
			return name
		}
		return at + "." + name
	}
	if c.Listen == "" {
		errs = append(errs, *f.Errorf(field("listen"), "listen is required (for example 127.0.0.1:8099)"))
	} else if _, err := config.ParseListenAddress(c.Listen); err != nil {
		errs = append(errs, *f.Errorf(field("listen"), "%v", err))
	}
	s := Settings{
		Issuer:      c.Issuer,
		KeysDir:     f.Resolve(c.KeysDir),
		Algorithm:   c.Algorithm,
		TokenTTL:    c.TokenTTL.Std(),
		Audience:    c.Audience,
		UsersFile:   f.Resolve(c.UsersFile),
		ClientsFile: f.Resolve(c.ClientsFile),
	}
	if s.Issuer == "" && c.Listen != "" {
		s.Issuer = "http://" + c.Listen
	}
	for i, u := range c.Users {
		if u.Password != "" {
			errs = append(errs, *f.Errorf(field("users")+"["+strconv.Itoa(i)+"].password",
				"plain passwords are not stored; put `portcullis issuer hash-password` output in password_hash"))
		}
		s.Users = append(s.Users, User{Username: u.Username, PasswordHash: u.PasswordHash, Subject: u.Subject, Scopes: u.Scopes, Claims: u.Claims})
	}
	for _, c := range c.Clients {
		s.Clients = append(s.Clients, Client{ClientID: c.ClientID, SecretHash: c.SecretHash, Public: c.Public, Scopes: c.Scopes, GrantTypes: c.GrantTypes, Claims: c.Claims})
	}
	ps := s.problems()
	for i := range ps {
		if ps[i].Field == "issuer" && c.Issuer == "" {
			ps[i].Field = "listen" // the issuer URL is made from it
		}
	}
	errs = append(errs, f.Place(at, ps)...)
	if s.KeysDir != "" {
		if err := CheckKeysDir(s.KeysDir); err != nil {
			errs = append(errs, *f.Errorf(field("keys_dir"), "%v", err))
		}
	}
	errs.Sort()
	return s, c.Listen, errs.Err()
}
