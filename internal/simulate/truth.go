package simulate

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Attack classes: the "class" values of truth.json. Detectors map onto these.
const (
	ClassReconVerticalScan   = "recon_vertical_scan"
	ClassReconHorizontalScan = "recon_horizontal_scan"
	ClassReconSlowScan       = "recon_slow_scan"
	ClassBruteForce          = "brute_force"
	ClassLateralMovement     = "lateral_movement"
	ClassExfilBulk           = "exfil_bulk"
	ClassExfilLowSlow        = "exfil_low_slow"
	ClassC2Beacon            = "c2_beacon"
	ClassCryptomining        = "cryptomining"
	ClassDoSInbound          = "dos_inbound"
	ClassDoSOutbound         = "dos_outbound"
	ClassDNSExternalResolver = "dns_external_resolver"
	ClassThreatIntelContact  = "threat_intel_contact"
	ClassExposedPort         = "exposed_port"
	ClassLoggingGap          = "logging_gap"

	ClassBenignBackup      = "benign_backup"
	ClassBenignMonitoring  = "benign_monitoring"
	ClassBenignVulnScanner = "benign_vuln_scanner"
)

// Truth is the content of DIR/truth.json: what the simulation put in the data.
type Truth struct {
	Seed          uint64    `json:"seed"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	AccountID     string    `json:"account_id"`
	Region        string    `json:"region"`
	InternalCIDRs []string  `json:"internal_cidrs"`
	Attacks       []Attack  `json:"attacks"`
}

// Attack is one labelled activity. Actors are the addresses that initiate it
// (an external attacker for inbound attacks, the compromised internal host
// for outbound ones), targets the addresses it is aimed at. Internal
// addresses are the private IPs flow records show, never public IPs.
// Every record between an actor and a target lies within [Start, End].
type Attack struct {
	ID          string    `json:"id"`
	Class       string    `json:"class"`
	Benign      bool      `json:"benign"`
	MITRE       []string  `json:"mitre"`
	Actors      []string  `json:"actors"`
	Targets     []string  `json:"targets"`
	ENIs        []string  `json:"enis"`
	Ports       []int     `json:"ports"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Description string    `json:"description"`
}

// LoadTruth reads a truth.json written by Generate.
func LoadTruth(path string) (*Truth, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read truth file: %w", err)
	}
	var t Truth
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("cannot parse truth file %s: %w", path, err)
	}
	return &t, nil
}

// ByClass returns the attacks of the given class, in file order.
func (t *Truth) ByClass(class string) []Attack {
	var out []Attack
	for _, a := range t.Attacks {
		if a.Class == class {
			out = append(out, a)
		}
	}
	return out
}
