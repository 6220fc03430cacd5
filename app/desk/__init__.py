"""The call-center desk: the page an agent keeps open beside the softphone."""
