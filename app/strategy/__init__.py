"""Next best action: rank the eligible actions by what they are worth, apply the contact
policy, hold out a control group, and learn acceptance from recorded outcomes."""
