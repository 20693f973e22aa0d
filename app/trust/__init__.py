"""What the sandbox trusts, edited: the policy documents, their checks and saving, the
effective state of a path, and rules made from history. No Qt here (app/ui/trust_*)."""
