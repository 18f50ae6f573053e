// Package firstboot is kubebake-firstboot's logic: at a node's first boot it
// finds the NodeConfig (see package source), renders the kubeadm
// configuration (config phase), then checks the node, runs kubeadm init or
// join with retries and leaves a definite result (run phase): a status JSON,
// a success or failure marker, Cluster API's bootstrap sentinel and one
// console line. It is idempotent across reboots and never logs secrets. It
// imports neither Packer nor cobra: it builds into a small static binary.
package firstboot
